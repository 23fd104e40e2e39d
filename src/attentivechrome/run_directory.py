"""The layout of a training run directory, known here and nowhere else.

A run directory holds, once its run is complete:

- ``config.json``: the training settings, model parameters and data;
- ``model.pt``: the selected model, a self-describing checkpoint;
- ``metrics.json``: the selected epoch's scores, how many epochs ran and why they stopped, the history;
- ``test_predictions.tsv``: the selected model's test predictions;
- ``result.json`` (runs of ``train-many`` and ``benchmark`` only): the row the runner recorded.

The files are written in a staging directory beside it (:meth:`RunDirectory.staging`) and moved
in at the end, so a failed or interrupted run writes nothing; an interrupted run keeps the state
of its training loop there, in ``resume.pt``, for ``--resume``. This module sits at the bottom of
the package (it needs only file helpers) because the checkpoint reader, the trainer, the runners,
the report and the command line all read this layout.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

from ._io import move_files, stale_stages, staging_directory, write_text_atomic


class RunDirectory:
    """A run directory (or its staging directory): where each of its files lies, and how the JSON ones are written."""

    CONFIG = "config.json"
    MODEL = "model.pt"
    METRICS = "metrics.json"
    PREDICTIONS = "test_predictions.tsv"
    RESULT = "result.json"
    #: In a staging directory only: the state of the training loop after the last finished epoch.
    RESUME = "resume.pt"
    #: The files a complete training run holds; any one of them in a directory means a run is there.
    RUN_FILES = (CONFIG, MODEL, METRICS, PREDICTIONS)

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunDirectory({str(self.path)!r})"

    @property
    def config(self) -> Path:
        return self.path / self.CONFIG

    @property
    def model(self) -> Path:
        return self.path / self.MODEL

    @property
    def metrics(self) -> Path:
        return self.path / self.METRICS

    @property
    def predictions(self) -> Path:
        return self.path / self.PREDICTIONS

    @property
    def result(self) -> Path:
        return self.path / self.RESULT

    @property
    def resume_state(self) -> Path:
        return self.path / self.RESUME

    def existing_run_files(self) -> list[str]:
        """The names of the run files already here (empty: no run)."""
        return [name for name in self.RUN_FILES if (self.path / name).exists()]

    def write_json(self, path: Path, record: dict) -> None:
        """One of the JSON files, indented, written atomically."""
        write_text_atomic(path, json.dumps(record, indent=2) + "\n")

    def read_config(self) -> dict:
        """``config.json`` as written (raises ``OSError``/``ValueError`` when missing or damaged)."""
        return json.loads(self.config.read_text(encoding="utf-8"))

    @contextlib.contextmanager
    def staging(self, *, reuse: RunDirectory | None = None, keep_on_interrupt: bool = False) -> Iterator[RunDirectory]:
        """A staging directory beside this one, as a :class:`RunDirectory`; :meth:`publish` moves its files in.

        ``reuse`` takes over the stage an interrupted run left (:meth:`resumable_stage`);
        ``keep_on_interrupt`` keeps the stage when Ctrl-C ends the block, for a later ``--resume``.
        """
        with staging_directory(self.path, reuse=None if reuse is None else reuse.path, keep_on_interrupt=keep_on_interrupt) as stage:
            yield RunDirectory(stage)

    def publish(self, stage: RunDirectory) -> None:
        """Move a complete run from ``stage`` into this directory; the loop state is dropped first (nothing is left to resume)."""
        stage.resume_state.unlink(missing_ok=True)
        move_files(stage.path, self.path)

    def resumable_stage(self) -> RunDirectory | None:
        """The staging directory a killed or interrupted run of this directory left with its loop state, newest first; ``None`` if none."""
        return next((RunDirectory(stage) for stage in stale_stages(self.path) if (stage / self.RESUME).is_file()), None)
