"""Reading a run directory's files for a report, each checked as a checkpoint is: a bad field is named with its file.

A damaged or hand-edited ``config.json``, ``metrics.json`` or ``test_predictions.tsv`` ends in one
:class:`~attentivechrome.exceptions.InputFormatError` (``path[:line]: what is wrong``), never a
``KeyError`` or ``TypeError`` from deeper in the page.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ..exceptions import InputFormatError
from ..tasks import get_task

#: Columns of the test predictions, per task (``label``/``target`` may be absent for unlabelled genes).
def read_json_object(path: str | Path) -> dict:
    """The JSON object in ``path``.

    Raises
    ------
    InputFormatError
        When the file is not valid JSON (truncated, say: the line is named) or holds no JSON object.
    """
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise InputFormatError(path, err.lineno, f"not valid JSON ({err.msg} at column {err.colno}); a damaged or truncated file?") from None
    if not isinstance(value, dict):
        raise InputFormatError(path, None, f"holds a JSON {_kind(value)}, expected an object of named fields; a damaged or hand-edited file?")
    return value


def read_run_config(path: str | Path) -> dict:
    """A run's ``config.json``, its fields checked: ``train`` (settings), ``model_name``, ``marks``, ``n_bins``, ``data``, ``cells``."""
    config = read_json_object(path)
    bad = _reporter(path)
    if not isinstance(config.get("train", {}), dict):
        raise bad("train", "an object of training settings", config["train"])
    if not isinstance(config.get("model_name", ""), str):
        raise bad("model_name", "a model name", config["model_name"])
    marks = config.get("marks", [])
    if not isinstance(marks, list) or not all(isinstance(m, str) and m for m in marks):
        raise bad("marks", "a list of mark names", marks)
    n_bins = config.get("n_bins")
    if n_bins is not None and (not _is_int(n_bins) or n_bins < 1):
        raise bad("n_bins", "a positive integer", n_bins)
    data = config.get("data", "")
    if not (isinstance(data, str) or (isinstance(data, list) and all(isinstance(d, str) for d in data))):
        raise bad("data", "the data directory (a string or a list of them)", data)
    for key in ("cells", "data_dirs"):
        value = config.get(key, [])
        if not isinstance(value, list) or not all(isinstance(c, str) and c for c in value):
            raise bad(key, "a list of names", value)
    return config


def read_run_metrics(path: str | Path) -> dict:
    """A run's ``metrics.json``, its fields checked: scalar scores, ``history`` (epoch records) and ``cells`` (scores per cell)."""
    metrics = read_json_object(path)
    bad = _reporter(path)
    for key, value in metrics.items():
        if key in ("history", "cells", "members"):
            continue
        if not _is_scalar(value):
            raise bad(key, "a number or a word", value)
    if "best_epoch" in metrics and not (_is_int(metrics["best_epoch"]) and metrics["best_epoch"] >= 0):
        raise bad("best_epoch", "a non-negative integer", metrics["best_epoch"])
    members = metrics.get("members", [])  # an ensemble's: each member's seed, selected epoch, scores and history
    if not isinstance(members, list) or not all(isinstance(m, dict) and isinstance(m.get("history", []), list) for m in members):
        raise bad("members", "a list of member records (objects with a history list)", members)
    history = metrics.get("history", [])
    if not isinstance(history, list):
        raise bad("history", "a list of epoch records", history)
    for i, record in enumerate(history):
        if not isinstance(record, dict):
            raise bad(f"history[{i}]", "an epoch record (an object)", record)
        if not _is_int(record.get("epoch")) or record["epoch"] < 0:
            raise bad(f"history[{i}].epoch", "a non-negative integer", record.get("epoch"))
        for key, value in record.items():
            if not _is_scalar(value):
                raise bad(f"history[{i}].{key}", "a number", value)
    cells = metrics.get("cells", {})
    if not isinstance(cells, dict):
        raise bad("cells", "an object of scores per cell", cells)
    for cell, scores in cells.items():
        if not isinstance(scores, dict) or not all(_is_number(v) for v in scores.values()):
            raise bad(f"cells.{cell}", "an object of scores (numbers)", scores)
    return metrics


def read_predictions(path: str | Path, task: str) -> pd.DataFrame:
    """A run's ``test_predictions.tsv``, with the columns of its task and numbers where numbers belong."""
    path = Path(path)
    try:
        frame = pd.read_csv(path, sep="\t", dtype={"gene_id": str, "cell": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise InputFormatError(path, None, f"not a readable table of predictions ({_first_line(err)})") from None
    spec = get_task(task)
    value = spec.value_column if spec.value_column in frame or "prediction" not in frame else "prediction"  # before 0.2: prediction
    missing = [c for c in ("gene_id", value, *(() if spec.binary else (spec.target_column,))) if c not in frame]
    if missing:
        raise InputFormatError(path, None, f"lacks the column{'s' if len(missing) > 1 else ''} {', '.join(missing)} of a {task} run's predictions; columns: {', '.join(map(str, frame.columns))}")
    for column in ("probability", "label", "prediction", "target", "log1p_expression", "deviation", "prior"):
        if column in frame and not pd.api.types.is_numeric_dtype(frame[column]):
            row = next(i for i, v in enumerate(pd.to_numeric(frame[column], errors="coerce")) if pd.isna(v) and not pd.isna(frame[column].iloc[i]))
            raise InputFormatError(path, row + 2, f"column {column}: expected a number, got {frame[column].iloc[row]!r}")
    return frame


def _reporter(path: str | Path):
    def bad(field: str, expected: str, value) -> InputFormatError:
        return InputFormatError(path, None, f"field {field}: expected {expected}, got {_shown(value)} (a damaged or hand-edited file?)")

    return bad


def _shown(value) -> str:
    text = json.dumps(value) if _json_plain(value) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _json_plain(value) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


def _kind(value) -> str:
    return {list: "list", str: "string", bool: "boolean", type(None): "null", int: "number", float: "number"}.get(type(value), type(value).__name__)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))


def _is_scalar(value) -> bool:
    return value is None or isinstance(value, (int, float, str, bool))


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
