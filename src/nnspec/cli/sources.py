"""What ``nnspec validate`` reads: arguments → sources → bytes.

Arguments are files, quoted globs, directories or ``-`` (standard input). Each
file is read once, however many arguments or links name it (files are told apart
by device and inode). Folder walks never follow a link to a folder nor leave the
folder's file system (see `_walk`); a ``**`` glob
does, so of the names a link loop gives one file it keeps the shortest. A folder
contributes only the ``*.json`` files that declare ``"nnspec"``, so a
repository's other JSON (package.json, tsconfig.json) is left alone;
``--only-nnspec`` applies the same test to files named directly. Reading refuses
what is not a regular file (`nnspec.fileio`), so a FIFO cannot hang the check.
"""

from __future__ import annotations

import json
import os
import re
import stat
import sys
from collections.abc import Iterator
from dataclasses import dataclass

from nnspec.fileio import expand_glob, read_regular

STDIN = "-"
_GLOB_CHARS = frozenset("*?[")
# Folders a walk skips: hidden ones (.git, .venv, .tox) and installed JavaScript packages.
_SKIPPED_FOLDERS = ("node_modules",)
_DECLARES = re.compile(rb'"nnspec"\s*:')


@dataclass(frozen=True)
class Source:
    """One thing to check. `sniff`: check it only if it declares ``"nnspec"``."""

    path: str
    sniff: bool = False

    @property
    def is_stdin(self) -> bool:
        return self.path == STDIN


class Unreadable(Exception):
    """A source that cannot be read; the message says why (reported as NN010)."""


def expand(args: list[str], *, sniff_files: bool = False) -> tuple[list[Source], list[str]]:
    """The sources the arguments name, in argument order (globs and folders sorted),
    each file once; and one message per glob that matches nothing."""
    sources: list[Source] = []
    seen: set[object] = set()
    failures = []
    for arg in args:
        if arg == STDIN:
            found: Iterator[Source] = iter([Source(STDIN)])
        elif os.path.isdir(arg):
            found = (Source(path, sniff=True) for path in _walk(arg))
        elif os.path.lexists(arg) or not _GLOB_CHARS & set(arg):
            found = iter([Source(arg, sniff=sniff_files)])  # a missing file is an NN010
        else:
            matches = _glob(arg)
            if not matches:
                failures.append(f"no files match {arg!r}")
            found = (Source(m, sniff=sniff_files) for m in matches)
        for source in found:
            identity = _identity(source.path)
            if identity not in seen:
                seen.add(identity)
                sources.append(source)
    return sources, failures


def _identity(path: str) -> object:
    """Device and inode of the file, so two names of one file count once."""
    if path == STDIN:
        return STDIN
    try:
        info = os.stat(path)
    except (OSError, ValueError):
        return os.path.abspath(path)
    return (info.st_dev, info.st_ino)


def _glob(pattern: str) -> list[str]:
    """Sorted files matching `pattern`, each once under its shortest name; ``**``
    follows links to folders but enters no folder twice (`nnspec.fileio.expand_glob`),
    so a link loop costs one visit, not a walk 40 levels deep per loop."""
    return expand_glob(pattern)


def _walk(root: str) -> Iterator[str]:
    """``*.json`` files under `root`, sorted, never following links to folders.

    The walk stays on `root`'s file system, as ``find -xdev`` does: a mount below it
    (/proc, /sys, /dev, a network share, another disk) is not entered, so
    ``nnspec validate /`` checks the root file system instead of reading every
    process's files. A name that is not a regular file (a FIFO, a device, a socket)
    is passed over; a link to nowhere is kept, so it is reported as NN010.
    """
    device = os.stat(root).st_dev
    for folder, folders, files in os.walk(root, followlinks=False):
        folders[:] = sorted(
            f
            for f in folders
            if not f.startswith(".")
            and f not in _SKIPPED_FOLDERS
            and _on_device(os.path.join(folder, f), device)
        )
        for name in sorted(files):
            path = os.path.join(folder, name)
            if name.lower().endswith(".json") and _regular_or_broken(path):
                yield os.path.normpath(path)


def _on_device(path: str, device: int) -> bool:
    try:
        return os.lstat(path).st_dev == device
    except OSError:
        return False  # vanished or unreadable: nothing to walk


def _regular_or_broken(path: str) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return os.path.islink(path)


def read(source: Source, max_bytes: int) -> bytes:
    """The source's bytes, at most `max_bytes` + 1 of them (so the parser can report
    a file over the limit without the whole file in memory)."""
    if source.is_stdin:
        binary = getattr(sys.stdin, "buffer", None)
        if binary is None:  # a text-only stream (a StringIO, a notebook's): its UTF-8
            return sys.stdin.read(max_bytes + 1).encode("utf-8")[: max_bytes + 1]
        return binary.read(max_bytes + 1)
    try:
        return read_regular(source.path, max_bytes)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise Unreadable(f"it {reason}" if reason.startswith("is ") else reason) from None


def declares_nnspec(data: bytes) -> bool:
    """Whether JSON bytes are (meant to be) an nnspec document: an object with a
    top-level ``"nnspec"`` key. Text that mentions the key but does not parse counts,
    so a broken document is reported rather than skipped."""
    if _DECLARES.search(data) is None:
        return False
    try:
        document = json.loads(data)
    except (ValueError, RecursionError):
        return True
    return isinstance(document, dict) and "nnspec" in document
