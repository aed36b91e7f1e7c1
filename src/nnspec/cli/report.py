"""Reporters for ``nnspec validate``: check → result → reporter.

The checker decides validity and the exit code; a reporter only formats the
results. Reporters are small classes chosen by name from `REPORTERS` (text, json,
github, sarif); each turns every file's problems into one string for stdout.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any, ClassVar
from urllib.parse import quote

from nnspec import __version__
from nnspec.cli.config import ConfigError
from nnspec.errors import CODES, Problem

DOCS_ERRORS = "docs/errors.md"


UNREADABLE = frozenset({"NN010", "NN011"})  # the file was not checked at all


@dataclass(frozen=True)
class FileResult:
    """The problems of one checked file (errors and warnings, ordered by position)
    that its settings report; `strict`: its warnings fail it too."""

    path: str
    problems: tuple[Problem, ...]
    strict: bool = False

    @property
    def errors(self) -> int:
        return sum(p.is_error for p in self.problems)

    @property
    def warnings(self) -> int:
        return len(self.problems) - self.errors

    @property
    def unreadable(self) -> bool:
        return any(p.code in UNREADABLE for p in self.problems)

    @property
    def failed(self) -> bool:
        return self.errors > 0 or (self.strict and self.warnings > 0)


@dataclass(frozen=True)
class ConfigProblem:
    """A configuration file that could not be used (``nnspec.toml``, or a
    ``pyproject.toml``'s ``[tool.nnspec]``) and how many documents it left unchecked.
    Not a problem of a document, so it has no code; json, sarif and github report it
    beside the files (the text format leaves it to stderr, where it always goes)."""

    file: str
    message: str
    unchecked: int
    line: int | None = None
    column: int | None = None

    @classmethod
    def of(cls, error: ConfigError, unchecked: int) -> ConfigProblem:
        """From the error: its file apart from the message and, for a TOML syntax
        error, the position tomllib names (``(at line 2, column 1)``)."""
        file = error.file or ""
        message = str(error).removeprefix(f"{file}: ")
        found = _TOML_AT.search(message)
        line, column = (int(found[1]), int(found[2])) if found else (None, None)
        return cls(file, message, unchecked, line, column)


_TOML_AT = re.compile(r"\(at line (\d+), column (\d+)\)$")


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def summary(
    results: Sequence[FileResult], unmatched: int = 0, skipped: int = 0, unconfigured: int = 0
) -> str:
    """The one-line summary for stderr, e.g.
    ``3 files checked: 2 valid, 1 invalid (4 errors, 1 warning)``."""
    checked = [r for r in results if not r.unreadable]
    invalid = sum(r.errors > 0 for r in checked)
    errors = sum(r.errors for r in checked)
    warnings = sum(r.warnings for r in checked)
    line = (
        f"{_plural(len(checked), 'file')} checked: {len(checked) - invalid} valid, "
        f"{invalid} invalid ({_plural(errors, 'error')}, {_plural(warnings, 'warning')})"
    )
    unreadable = len(results) - len(checked)
    if unreadable:
        line += f"; {unreadable} not readable"
    if unmatched:
        line += f"; {_plural(unmatched, 'glob')} matched nothing"
    if skipped:
        line += f"; {skipped} skipped (not nnspec documents)"
    if unconfigured:
        line += f"; {unconfigured} not checked (their configuration file is invalid)"
    return line


def end_of(problem: Problem) -> tuple[int | None, int | None]:
    """Where the problem's region ends (exclusive). A problem known only by its start
    (a syntax error) covers the one character there."""
    if problem.end_line is not None:
        return problem.end_line, problem.end_column
    if problem.line is None:
        return None, None
    return problem.line, (problem.column or 1) + 1


def _problems(results: Sequence[FileResult]) -> list[Problem]:
    return [p for r in results for p in r.problems]


class Reporter:
    """Formats all results at once (so json and sarif can be one document)."""

    name: ClassVar[str]
    help: ClassVar[str]

    def render(self, results: Sequence[FileResult], configs: Sequence[ConfigProblem] = ()) -> str:
        """The report of `results`; `configs`: the configuration files that could not
        be used (the json, sarif and github formats show them)."""
        raise NotImplementedError


class TextReporter(Reporter):
    name = "text"
    help = "one line per problem: file:line:col: CODE message (at /json/pointer)"

    def render(self, results: Sequence[FileResult], configs: Sequence[ConfigProblem] = ()) -> str:
        return "".join(self.line(p) + "\n" for p in _problems(results))

    @staticmethod
    def line(problem: Problem) -> str:
        """`Problem.format` plus where the problem ends; a file that could not be read
        has no place inside it to point at."""
        if problem.code in UNREADABLE:
            return f"{problem.file}: {problem.code} {problem.message}"
        text = problem.format()
        end_line, end_column = end_of(problem)
        if end_line is None or not text.endswith(")"):
            return text
        return f"{text[:-1]}, ends at {end_line}:{end_column})"


class JsonReporter(Reporter):
    name = "json"
    help = "one JSON object: every file with its problems"

    def render(self, results: Sequence[FileResult], configs: Sequence[ConfigProblem] = ()) -> str:
        files = [
            {
                "file": r.path,
                "valid": r.errors == 0,
                "problems": [
                    {
                        "code": p.code,
                        "severity": p.severity,
                        "title": CODES[p.code].title,
                        "message": p.message,
                        "pointer": p.pointer,
                        "line": p.line,
                        "column": p.column,
                        "end_line": end_of(p)[0],
                        "end_column": end_of(p)[1],
                    }
                    for p in r.problems
                ],
            }
            for r in results
        ]
        report: dict[str, Any] = {"files": files}
        if configs:  # only then, so a clean report keeps its shape
            report["configuration_errors"] = [
                {
                    "file": c.file,
                    "message": c.message,
                    "line": c.line,
                    "column": c.column,
                    "documents_not_checked": c.unchecked,
                }
                for c in configs
            ]
        return json.dumps(report, indent=2, ensure_ascii=False) + "\n"


def _escape_data(text: str) -> str:
    """GitHub workflow command data: %, CR and LF are percent-encoded."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    """Workflow command properties additionally encode ':' and ','."""
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


class GithubReporter(Reporter):
    name = "github"
    help = "GitHub Actions workflow annotations (::error file=...,line=...::message)"

    def render(self, results: Sequence[FileResult], configs: Sequence[ConfigProblem] = ()) -> str:
        lines = [self._config_annotation(c) for c in configs]
        for p in _problems(results):
            end_line, end_column = end_of(p)
            props = {
                "file": p.file,
                "line": p.line,
                "endLine": end_line,
                "col": p.column,
                "endColumn": end_column,
                "title": p.code,
            }
            where = "" if p.code in UNREADABLE else f" (at {p.pointer or '/'})"
            lines.append(_annotation(p.severity, props, p.message + where))
        return "".join(lines)

    @staticmethod
    def _config_annotation(config: ConfigProblem) -> str:
        """A bad configuration file as an error on that file, so the pull request
        shows why documents went unchecked (a job's stderr is not annotated)."""
        props = {
            "file": config.file,
            "line": config.line,
            "col": config.column,
            "title": "configuration",
        }
        unchecked = _plural(config.unchecked, "document")
        return _annotation("error", props, f"{config.message} ({unchecked} not checked)")


def _annotation(severity: str, props: dict[str, Any], message: str) -> str:
    """One workflow command line: ``::severity key=value,...::message``."""
    shown = ",".join(
        f"{key}={_escape_property(str(value))}" for key, value in props.items() if value is not None
    )
    return f"::{severity} {shown}::{_escape_data(message)}\n"


def _artifact_uri(path: str) -> str:
    """A SARIF artifact URI: relative paths stay relative (resolved by the viewer)."""
    pure = PurePath(path)
    if pure.is_absolute():
        return "file://" + quote(pure.as_posix())
    return quote(pure.as_posix())


class SarifReporter(Reporter):
    name = "sarif"
    help = "SARIF 2.1.0 for code scanning (one run, rules from the problem codes)"

    SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"

    def render(self, results: Sequence[FileResult], configs: Sequence[ConfigProblem] = ()) -> str:
        rule_index = {code: i for i, code in enumerate(CODES)}
        rules = [
            {
                "id": code,
                "name": code,
                "shortDescription": {"text": info.title},
                "fullDescription": {"text": f"{info.title}. {info.fix}"},
                "help": {"text": info.fix},
                "defaultConfiguration": {"level": info.severity},
                "properties": {"docs": f"{DOCS_ERRORS}#{code.lower()}"},
            }
            for code, info in CODES.items()
        ]
        run: dict[str, Any] = {
            "tool": {
                "driver": {
                    "name": "nnspec",
                    "version": __version__,
                    "rules": rules,
                }
            },
            "columnKind": "unicodeCodePoints",
            "results": [self._result(p, rule_index[p.code]) for p in _problems(results)],
        }
        if configs:  # SARIF's place for them: the invocation's configuration notifications
            run["invocations"] = [
                {
                    "executionSuccessful": False,
                    "toolConfigurationNotifications": [self._notification(c) for c in configs],
                }
            ]
        sarif = {"$schema": self.SCHEMA, "version": "2.1.0", "runs": [run]}
        return json.dumps(sarif, indent=2, ensure_ascii=False) + "\n"

    @staticmethod
    def _notification(config: ConfigProblem) -> dict[str, Any]:
        physical: dict[str, Any] = {"artifactLocation": {"uri": _artifact_uri(config.file)}}
        if config.line is not None:
            physical["region"] = {"startLine": config.line, "startColumn": config.column or 1}
        unchecked = _plural(config.unchecked, "document")
        return {
            "level": "error",
            "message": {"text": f"{config.message} ({unchecked} not checked)"},
            "locations": [{"physicalLocation": physical}],
            "properties": {"documentsNotChecked": config.unchecked},
        }

    @staticmethod
    def _result(problem: Problem, rule_index: int) -> dict[str, Any]:
        physical: dict[str, Any] = {"artifactLocation": {"uri": _artifact_uri(problem.file or "")}}
        if problem.line is not None:
            end_line, end_column = end_of(problem)
            physical["region"] = {
                "startLine": problem.line,
                "startColumn": problem.column or 1,
                "endLine": end_line,
                "endColumn": end_column,
            }
        return {
            "ruleId": problem.code,
            "ruleIndex": rule_index,
            "level": problem.severity,
            "message": {"text": problem.message},
            "locations": [{"physicalLocation": physical}],
            "properties": {"pointer": problem.pointer},
        }


REPORTERS: dict[str, type[Reporter]] = {
    r.name: r for r in (TextReporter, JsonReporter, GithubReporter, SarifReporter)
}


def render_statistics(results: Sequence[FileResult], fmt: str) -> str:
    """How often each reported code occurs, most frequent first: ``COUNT CODE title``
    lines, or with ``fmt="json"`` a list of ``{"code", "title", "severity", "count"}``."""
    counts = Counter(p.code for p in _problems(results))
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    rows = [
        {"code": code, "title": CODES[code].title, "severity": CODES[code].severity, "count": n}
        for code, n in ranked
    ]
    if fmt == "json":
        return json.dumps(rows, indent=2, ensure_ascii=False) + "\n"
    width = max((len(str(n)) for n in counts.values()), default=1)
    return "".join(f"{row['count']:>{width}} {row['code']} {row['title']}\n" for row in rows)
