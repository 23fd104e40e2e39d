"""Limits of a report page, in a module that imports nothing (the package's light ``__init__`` reads them)."""

#: Genes the gene search holds unless told otherwise (a page of 500 genes with five maps is about 10 MB).
DEFAULT_MAX_GENES = 500
