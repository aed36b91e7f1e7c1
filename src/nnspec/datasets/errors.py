"""`DataError` (and `nnspec.fileio`'s `PathLike`), shared by the data file modules.

`files.py` (dispatch by extension, NumPy files, atomic writes) and `csvio.py` (the
strict CSV dialect) both raise `DataError`; it lives here because `files.py` imports
`csvio.py`, which therefore cannot import `files.py`. `files.py` re-exports both
names, and `nnspec.datasets` re-exports `DataError`.
"""

from __future__ import annotations

import os

from nnspec.fileio import PathLike
from nnspec.portable import Portable


class DataError(Portable, ValueError):
    """A data file is missing, malformed or does not hold what was asked for."""

    def __init__(self, path: PathLike, message: str):
        self.path = os.fspath(path)
        self.message = message
        super().__init__(f"{self.path}: {message}")
