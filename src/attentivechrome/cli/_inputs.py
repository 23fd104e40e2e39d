"""The files a command reads, so that none of its outputs is written over one of them."""

from __future__ import annotations

from pathlib import Path


def model_files(reference: str) -> tuple[Path, ...]:
    """The files a ``--model`` value reads: a run directory's ``model.pt``, a checkpoint file, or a cached published cell's weights.

    Nothing when the reference names nothing on disk (loading it then fails with its own message).
    """
    from ..run_directory import RunDirectory

    path = Path(reference)
    if path.is_dir():
        return (RunDirectory(path).model,)
    if path.exists():
        return (path,)
    from ..data.download import default_cache_dir, published_cell

    cell = published_cell(str(reference))
    if cell is None:
        return ()
    folder = default_cache_dir() / "weights"
    return tuple(sorted(folder.glob(f"{cell}_*.pt"))) if folder.is_dir() else ()


def cell_input_files(paths: list[Path] | None) -> tuple[Path, ...]:
    """The files ``--cell-input`` reads: files as given, and every split file of a cell directory."""
    from ..data.layout import split_paths

    files: list[Path] = []
    for path in paths or ():
        if path.is_dir():
            try:
                files.extend(split_paths(path).values())
            except (OSError, ValueError):  # not a cell directory: reading it fails later with its own message
                continue
        else:
            files.append(path)
    return tuple(files)
