"""Every decision that depends on the task is the Task object's (attentivechrome.tasks): no module tests the task's name.

Every module is read with :mod:`ast` (nothing is imported). A comparison of a name or attribute
called ``task`` (or ``*_task``, ``task_*``) with a task's name, a membership test of a task in a
tuple of task names, and a dict keyed by task names (a per-task table) are reported with their
file and line. ``tasks.py`` defines the tasks; ``data/schema.py`` only re-exports their names.
"""

from __future__ import annotations

import ast
from pathlib import Path

from attentivechrome.tasks import TASKS

SRC = Path(__file__).resolve().parents[1] / "src" / "attentivechrome"


def _names_a_task(node: ast.AST) -> bool:
    name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""
    return name == "task" or name.endswith("_task") or name.startswith("task_")


def _task_names(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        return node.value in TASKS
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return bool(node.elts) and all(isinstance(e, ast.Constant) and e.value in TASKS for e in node.elts)
    return False


def task_tests(path: Path, root: Path = SRC.parent) -> list[str]:
    """``file:line: what`` (the file relative to ``root``) for each test of a task's name in the module at ``path``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(_names_a_task(s) for s in sides) and any(_task_names(s) for s in sides):
                found.append(f"{path.relative_to(root)}:{node.lineno}: compares the task with a task's name")
        elif isinstance(node, ast.Dict) and len(node.keys) > 1 and all(k is not None and _task_names(k) for k in node.keys):
            found.append(f"{path.relative_to(root)}:{node.lineno}: a table keyed by task names")
    return found


def test_no_module_but_tasks_tests_the_task_name():
    found = []
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC)
        if relative.as_posix() in ("tasks.py", "data/schema.py"):
            continue
        found += task_tests(path)
    assert not found, "ask attentivechrome.tasks.get_task(...) instead:\n" + "\n".join(found)


def test_the_check_sees_each_form(tmp_path):
    module = tmp_path / "probe.py"
    module.write_text('if config.task == "regression": pass\nif task in ("classification",): pass\nMETRIC = {"classification": 1, "regression": 2}\nok = kind == "regression"\n')
    assert [line.split(": ", 1)[0] for line in task_tests(module, tmp_path)] == ["probe.py:1", "probe.py:2", "probe.py:3"]
