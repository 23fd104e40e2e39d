"""The README's examples run as written: each `attentivechrome ...` line parses, reads only files that exist
(in ../shared/data, or written by an example above it), writes under runs/, and trains 200-gene excerpts with
the paper's settings. Nothing is trained: each line goes through the command's own parser only.
"""

from __future__ import annotations

import glob
import gzip
import os
import re
import shlex
import string
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
#: The README's examples read the shared data beside the checkout; the tests may find it elsewhere.
SHARED_PREFIX = "../shared/data"
SHARED_DATA = Path(os.environ.get("ATTENTIVECHROME_SHARED_DATA", ROOT.parent / "shared" / "data"))
#: Marks a README block whose files are the reader's own (checked for parsing only).
TEMPLATE_MARK = "<!-- readme-test: template -->"
#: Parameters that name what a command writes; every other path parameter is read.
OUTPUT_PARAMS = {"out", "attention", "cache_dir"}
#: Models fitted once (no batches or epochs), for which the excerpts' preset does not matter.
FITTED_ONCE = {"linear", "gbt", "prior"}
#: Fewer training genes than this make an excerpt: the README advises --preset original there.
EXCERPT_GENES = 1000


def readme_blocks() -> list[tuple[int, str, bool]]:
    """The README's bash blocks: (first line number, text, whether marked as a template)."""
    blocks, lines = [], README.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        if lines[i].strip() == "```bash":
            before = next((lines[j].strip() for j in range(i - 1, -1, -1) if lines[j].strip()), "")
            end = next(j for j in range(i + 1, len(lines)) if lines[j].strip() == "```")
            blocks.append((i + 2, "\n".join(lines[i + 1 : end]), before == TEMPLATE_MARK))
            i = end
        i += 1
    return blocks


def readme_commands() -> list[tuple[int, list[str], bool]]:
    """Every command of the README's bash blocks, in order: (line number, words after variables are set, template?)."""
    commands = []
    for first, text, template in readme_blocks():
        variables: dict[str, str] = {}
        logical, start = "", first
        for number, line in enumerate(text.splitlines(), first):
            if not logical:
                start = number
            if line.rstrip().endswith("\\"):
                logical += line.rstrip()[:-1] + " "
                continue
            logical += line
            words = shlex.split(string.Template(logical).safe_substitute(variables), comments=True)
            logical = ""
            command: list[str] = []
            for word in [*words, "&&"]:
                if word not in ("&&", ";", "||", "|"):
                    command.append(word)
                    continue
                if len(command) == 1 and re.fullmatch(r"[A-Za-z_]\w*=.*", command[0]):
                    name, _, value = command[0].partition("=")
                    variables[name] = value
                elif command:
                    commands.append((start, command, template))
                command = []
    return commands


def cli_commands():
    return [(line, words, template) for line, words, template in readme_commands() if words[0] == "attentivechrome"]


def _real(path: str) -> Path:
    """Where a README path is when the README's commands run from the checkout."""
    if path == SHARED_PREFIX or path.startswith(SHARED_PREFIX + "/"):
        return SHARED_DATA / path[len(SHARED_PREFIX) :].lstrip("/")
    return ROOT / path


def _expanded(words: list[str]) -> list[str]:
    """Shell globs expanded as the shell would (a pattern matching nothing stays as written)."""
    out = []
    for word in words:
        if any(c in word for c in "*?[") and not word.startswith("-"):
            real = _real(word)
            matches = sorted(glob.glob(str(real)))
            out.extend(str(Path(word).parent / Path(m).name) for m in matches) if matches else out.append(word)
        else:
            out.append(word)
    return out


def _parse(name: str, args: list[str]) -> dict:
    import typer

    from attentivechrome.cli.main import app

    group = typer.main.get_command(app)
    assert name in group.commands, f"`attentivechrome {name}` is not a command"
    return dict(group.commands[name].make_context(name, list(args)).params)


def _paths(value) -> list[Path]:
    if isinstance(value, Path):
        return [value]
    if isinstance(value, (list, tuple)):
        return [p for item in value for p in _paths(item)]
    return []


def _training_genes(cell_dir: Path, enough: int) -> int:
    """How many genes the cell's train split holds, counting no further than ``enough``."""
    from attentivechrome.data.layout import split_paths

    path = split_paths(cell_dir)["train"]
    genes: set[str] = set()
    with (gzip.open(path, "rt") if path.suffix == ".gz" else open(path)) as handle:
        for line in handle:
            genes.add(line.split(",", 1)[0])
            if len(genes) > enough:
                break
    genes.discard("gene_id")
    return len(genes)


def test_the_readme_has_examples_of_every_command():
    names = {words[1] for _, words, _ in cli_commands() if len(words) > 1}
    assert {"train", "evaluate", "predict", "simulate", "demo", "models", "featurize", "download", "interpret", "interpret-benchmark", "benchmark", "train-many", "report"} <= names


@pytest.mark.parametrize("line, words, template", cli_commands(), ids=lambda v: f"README:{v}" if isinstance(v, int) else None)
def test_each_readme_command_parses(line, words, template):
    """Option names, option values and required arguments: what the command's own parser checks."""
    _parse(words[1], _expanded(words[2:]))


def test_readme_commands_read_what_exists_or_an_earlier_example_wrote(shared_data):
    written: list[Path] = []  # outputs of the examples so far, as the README names them
    problems = []
    for line, words, template in cli_commands():
        params = _parse(words[1], _expanded(words[2:]))
        outputs = [p for name in OUTPUT_PARAMS for p in _paths(params.get(name))]
        if not template:
            problems += [f"README:{line}: {p} is written outside runs/" for p in outputs if not Path(os.path.normpath(p)).parts[:1] == ("runs",)]
            inputs = [p for name, value in params.items() if name not in OUTPUT_PARAMS for p in _paths(value)]
            model = params.get("model")
            if words[1] not in ("train", "benchmark", "train-many") and isinstance(model, str) and not re.fullmatch(r"[Ee]\d{3}", model):
                inputs.append(Path(model))  # a run directory or checkpoint (a published cell's name is fetched by `download`)
            for path in inputs:
                normal = Path(os.path.normpath(path))
                if not _real(str(normal)).exists() and not any(normal == w or w in normal.parents for w in written):
                    problems.append(f"README:{line}: `attentivechrome {words[1]}` reads {path}, which neither exists nor is written by an example above it")
        written += [Path(os.path.normpath(p)) for p in outputs]
    assert not problems, "\n".join(problems)


def test_readme_trains_200_gene_excerpts_with_the_papers_settings(shared_data):
    """The tuned defaults are made for cells of thousands of genes; the README advises --preset original on excerpts."""
    problems = []
    for line, words, template in cli_commands():
        if words[1] not in ("train", "benchmark", "train-many"):
            continue
        params = _parse(words[1], _expanded(words[2:]))
        cells = params.get("data_dir") or params.get("cell_dirs") or []
        models = set(params["models"].split(",")) if "models" in params else {params["model"]}  # benchmark's 'all' holds the networks
        if params.get("preset") == "original" or models <= FITTED_ONCE:
            continue
        for cell in cells:
            real = _real(os.path.normpath(cell))
            if not real.is_dir():
                continue  # written by an earlier example (checked above)
            try:
                genes = _training_genes(real, EXCERPT_GENES)
            except ValueError as err:  # InputFormatError: e.g. a glob that also matches a folder that is no cell
                problems.append(f"README:{line}: `attentivechrome {words[1]}` takes {cell}, which is not a cell directory: {err}")
                continue
            if genes < EXCERPT_GENES:
                problems.append(f"README:{line}: `attentivechrome {words[1]}` trains {cell} (an excerpt) with each model's tuned defaults; add --preset original")
    assert not problems, "\n".join(problems)


def test_install_line_takes_the_cpu_wheel_and_ci_keeps_the_plain_pin():
    readme = README.read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    [readme_pin] = re.findall(r"pip install (torch==[\w.]+) --index-url https://download\.pytorch\.org/whl/cpu", readme)
    ci_pins = re.findall(r"pip install (?:--quiet )?(torch==[\w.]+)(.*)", ci)
    assert [pin for pin, _ in ci_pins] == [readme_pin]
    assert "--index-url" not in ci_pins[0][1]
