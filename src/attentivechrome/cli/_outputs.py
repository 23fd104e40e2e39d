"""Output folders: which command wrote one, so that no command writes over another's outputs.

Every command that writes a folder records itself there (:data:`OWNER_FILE`, written once its
outputs are in place) and, before writing anything, refuses a folder that another command wrote
(:func:`claim_folder`) unless the user passes ``--overwrite``. A folder without the record (written
by an older version or through the Python API) is recognised by the files that tell each
command's outputs apart; a folder of unknown origin is refused when it holds a file the command
would replace.
"""

from __future__ import annotations

import json
from pathlib import Path

from ._app import UsageProblem

#: The record inside an output folder naming the command that wrote it (hidden; JSON).
OWNER_FILE = ".attentivechrome-output.json"

#: For each command that writes a folder: the files that tell its outputs apart (checked in this
#: order), then the other files it writes at the top of the folder.
WRITES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "interpret-benchmark": (("per_gene_scores.csv",), ("benchmark.md", "benchmark.csv", "benchmark.png", "benchmark.svg")),
    "interpret": (
        ("explanations.npz", "contrast_maps.npz"),
        ("summary.md", "maps.tsv", "mark_scores.tsv", "predictions.tsv", "class_averages.npz", "contrast.tsv", "contrast.md", "contrast_profiles.png"),
    ),
    "benchmark": (
        ("benchmark.json", "per_cell.csv", "cross-cell.json", "matrix.csv"),
        ("benchmark.md", "benchmark.png", "summary.csv", "runs.csv", "matrix.md", "matrix.png", "scores.csv"),
    ),
    "train-many": (("train-many.json",), ("summary.tsv",)),
    "simulate": (("truth.npz", "simulation.json"), ("train.csv", "valid.csv", "test.csv", "expression.csv")),
    "featurize": (("featurize.json",), ("train.csv", "valid.csv", "test.csv")),
    "demo": (("test_attention.npz",), ("test_predictions.tsv",)),
    "train": (("model.pt", "metrics.json"), ("config.json", "test_predictions.tsv")),
}


def folder_owner(folder: Path) -> str | None:
    """The command that wrote ``folder``: its record, else the first command whose telling files are there; ``None`` if neither."""
    record = folder / OWNER_FILE
    if record.is_file():
        try:
            command = json.loads(record.read_text(encoding="utf-8")).get("command")
        except (OSError, ValueError, AttributeError):
            command = None
        if isinstance(command, str) and command:
            return command
    for command, (telling, _) in WRITES.items():
        if any((folder / name).exists() for name in telling):
            return command
    return None


def claim_folder(folder: Path, command: str, *, overwrite: bool = False, empty: bool = False) -> None:
    """Refuse (exit 2, one line) to write ``command``'s outputs into ``folder`` when that would write over another's.

    A missing or empty folder is always accepted. Otherwise, unless ``overwrite``: a folder another
    command wrote is refused; a folder of unknown origin is refused when it holds a file ``command``
    writes; with ``empty`` (``simulate``), any folder that holds something is refused.
    """
    if not folder.exists():
        return
    if not folder.is_dir():
        raise UsageProblem(f"{folder}: exists and is not a directory")
    held = sorted(p.name for p in folder.iterdir())
    if not held or overwrite:
        return
    remedy = "choose another --out, or pass --overwrite to write over them"
    owner = folder_owner(folder)
    if owner is not None and owner != command:
        raise UsageProblem(f"{folder}: holds the outputs of `attentivechrome {owner}`; `{command}` would write over them: {remedy}")
    if empty:
        shown = ", ".join(held[:3]) + (", ..." if len(held) > 3 else "")
        raise UsageProblem(f"{folder}: is not empty ({shown}); {command} writes into an empty folder: choose another --out, or pass --overwrite to replace its files")
    if owner is None:
        telling, others = WRITES[command]
        clash = [name for name in (*telling, *others) if (folder / name).exists()]
        if clash:
            raise UsageProblem(f"{folder}: holds {', '.join(clash)}, not written by `attentivechrome {command}`; {remedy}")


def record_owner(folder: Path, command: str) -> None:
    """Record in ``folder`` that ``command`` wrote it (atomically); call once its outputs are in place."""
    from .._io import write_text_atomic
    from .._version import __version__

    write_text_atomic(folder / OWNER_FILE, json.dumps({"command": command, "attentivechrome": __version__}) + "\n")
