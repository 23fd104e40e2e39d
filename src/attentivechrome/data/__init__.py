"""Reading, writing and simulating histone-mark data."""

from .csv_io import read_csv, write_csv
from .dataset import HistoneData, apply_transform, load_splits, split_paths
from .schema import MARKS

__all__ = ["HistoneData", "MARKS", "apply_transform", "load_splits", "read_csv", "split_paths", "write_csv"]
