"""Reading, writing and simulating histone-mark data."""

from .csv_io import read_csv, write_csv
from .dataset import HistoneData, apply_transform, load_splits, split_paths
from .schema import MARKS
from ._cache import read_csv_cached

__all__ = ["HistoneData", "MARKS", "apply_transform", "load_splits", "read_csv", "read_csv_cached", "split_paths", "write_csv"]
