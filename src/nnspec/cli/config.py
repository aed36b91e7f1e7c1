"""Settings of ``nnspec validate``: which warnings to report, found the way ruff finds its own.

Sources, later ones winning: the nearest configuration file above each checked
file (``nnspec.toml``, or the ``[tool.nnspec]`` table of a ``pyproject.toml``;
``nnspec.toml`` wins in the same folder), then the command line, then the
document's own ``"x-nnspec": {"ignore": [...]}``. Selectors are codes or code
prefixes (``NN902``, ``NN9``, ``NN``; ``ALL`` means every code).

Errors are always reported: a document with an error cannot be loaded by any
command, so hiding it would let ``validate`` pass what ``run`` refuses. Selection
therefore applies to warnings only, and an ``ignore`` naming nothing but error
codes is a configuration error.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nnspec.errors import CODES, did_you_mean
from nnspec.fileio import open_regular

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

CONFIG_FILES = ("nnspec.toml", "pyproject.toml")  # looked for in this order in each folder
KEYS = ("select", "extend-select", "ignore", "strict")


class ConfigError(ValueError):
    """A configuration value that cannot be used; the message names where it came from.

    `file` is the configuration file it is about (None for a command-line value), so
    reports can name it apart from the message (`nnspec.cli.report.ConfigProblem`)."""

    def __init__(self, message: str, file: str | None = None) -> None:
        super().__init__(message)
        self.file = file


@dataclass(frozen=True)
class Selection:
    """Which codes are reported. The longest matching selector decides, and on a tie
    between `select` and `ignore` the code is ignored — so ``select = ["NN9"]`` with
    ``ignore = ["NN902"]`` reports NN901 but not NN902, and ``ignore = ["NN9"]`` with
    ``extend-select = ["NN901"]`` reports NN901 alone."""

    select: tuple[str, ...] = ("NN",)
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    strict: bool = False

    def reports(self, code: str) -> bool:
        if CODES[code].severity == "error":
            return True
        chosen = _longest_match(code, (*self.select, *self.extend_select))
        return chosen > _longest_match(code, self.ignore)

    def overridden(self, **changes: Any) -> Selection:
        return dataclasses.replace(self, **changes)


DEFAULT = Selection()


def _longest_match(code: str, selectors: Iterable[str]) -> int:
    return max((len(s) for s in selectors if code.startswith(s)), default=-1)


def selectors(values: object, where: str, *, ignoring: bool = False) -> tuple[str, ...]:
    """Check and normalise a list of selectors (codes or prefixes, any case)."""
    if isinstance(values, str):
        values = [part for part in values.split(",") if part.strip()]
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ConfigError(f'{where}: expected a list of codes such as ["NN902"], got {values!r}')
    result = []
    for value in values:
        selector = value.strip().upper()
        selector = "NN" if selector == "ALL" else selector
        matched = [code for code in CODES if code.startswith(selector)]
        if not selector or not matched:
            hint = did_you_mean(selector, CODES, listing=False)
            raise ConfigError(f"{where}: {value!r} is no code or code prefix{hint}")
        if ignoring and all(CODES[code].severity == "error" for code in matched):
            raise ConfigError(
                f"{where}: {value!r} names only errors, which cannot be ignored "
                "(a document with an error cannot be loaded); ignore warnings (NN9xx) only"
            )
        result.append(selector)
    return tuple(result)


def from_table(table: Mapping[str, Any], where: str) -> Selection:
    """The settings of one ``[tool.nnspec]`` table (or a whole ``nnspec.toml``)."""
    unknown = sorted(set(table) - set(KEYS))
    if unknown:
        hint = did_you_mean(unknown[0], KEYS)
        raise ConfigError(f"{where}: unknown setting {unknown[0]!r}{hint}")
    strict = table.get("strict", False)
    if not isinstance(strict, bool):
        raise ConfigError(f"{where}: 'strict' must be true or false, got {strict!r}")
    return Selection(
        select=selectors(table.get("select", ["NN"]), f"{where}: select"),
        extend_select=selectors(table.get("extend-select", []), f"{where}: extend-select"),
        ignore=selectors(table.get("ignore", []), f"{where}: ignore", ignoring=True),
        strict=strict,
    )


def read_config(path: Path) -> Selection | None:
    """The settings in `path`, or None for a ``pyproject.toml`` without ``[tool.nnspec]``;
    a `ConfigError` about it names it as its `file`."""
    try:
        return _read_config(path)
    except ConfigError as exc:
        exc.file = str(path)
        raise


def _read_config(path: Path) -> Selection | None:
    try:
        with open_regular(path) as handle:  # a FIFO or device is refused, not waited on
            data = tomllib.load(handle)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if path.name == "pyproject.toml":
        tool = data.get("tool", {})
        table = tool.get("nnspec") if isinstance(tool, dict) else None
        if table is None:
            return None
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: [tool.nnspec] must be a table")
        return from_table(table, f"{path}: [tool.nnspec]")
    return from_table(data, str(path))


class ConfigFinder:
    """Finds the configuration that applies to a file by walking up from its folder,
    reading each folder's files once. A bad configuration file is remembered too: every
    file below it gets the same `ConfigError`, without reading the file again."""

    def __init__(self) -> None:
        self._by_folder: dict[Path, Selection | ConfigError] = {}

    def for_file(self, path: str | os.PathLike[str]) -> Selection:
        folder = Path(os.path.abspath(path)).parent
        return self.for_folder(folder)

    def for_folder(self, folder: Path) -> Selection:
        seen = []
        found: Selection | ConfigError = DEFAULT
        for candidate in (folder, *folder.parents):
            if candidate in self._by_folder:
                found = self._by_folder[candidate]
                break
            seen.append(candidate)
            try:
                settings = self._read_folder(candidate)
            except ConfigError as exc:
                found = exc
                break
            if settings is not None:
                found = settings
                break
        for visited in seen:
            self._by_folder[visited] = found
        if isinstance(found, ConfigError):
            raise found
        return found

    @staticmethod
    def _read_folder(folder: Path) -> Selection | None:
        for name in CONFIG_FILES:
            path = _as_named(folder / name)
            # Anything by that name counts: a FIFO, a device, a folder or a broken link
            # is a configuration error (read_config refuses it), never silently skipped.
            if os.path.lexists(path):
                settings = read_config(path)
                if settings is not None:
                    return settings
        return None


def _as_named(path: Path) -> Path:
    """A configuration file found walking up (`path`, absolute) as messages and
    reports name it: relative to the working folder when it is below it, so a GitHub
    annotation lands on the file; else (or with no working folder: deleted) absolute.
    One named by ``--config`` is named as given, like the documents."""
    try:
        return path.relative_to(Path.cwd())
    except (ValueError, OSError):
        return path


def document_ignores(data: object) -> tuple[tuple[str, ...], str | None]:
    """The selectors of a document's ``"x-nnspec": {"ignore": [...]}`` and, when the
    setting is malformed, why (reported as NN904 at ``/x-nnspec``)."""
    if not isinstance(data, dict) or "x-nnspec" not in data:
        return (), None
    settings = data["x-nnspec"]
    if not isinstance(settings, dict) or set(settings) - {"ignore"}:
        return (), 'expected "x-nnspec": {"ignore": ["NN902", ...]}'
    try:
        return selectors(settings.get("ignore", []), '"x-nnspec" ignore', ignoring=True), None
    except ConfigError as exc:
        return (), str(exc)
