"""Reporters for ``nnspec validate``: check → result → reporter.

The checker decides validity and the exit code; a reporter only formats the
results. Reporters are small classes chosen by name from `REPORTERS` (text, json,
github, sarif); each turns every file's problems into one string for stdout.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any, ClassVar
from urllib.parse import quote

from nnspec import __version__
from nnspec.errors import CODES, Problem

DOCS_ERRORS = "docs/errors.md"


@dataclass(frozen=True)
class FileResult:
    """The problems of one checked file (errors and warnings, ordered by position)."""

    path: str
    problems: tuple[Problem, ...]

    @property
    def errors(self) -> int:
        return sum(p.is_error for p in self.problems)

    @property
    def warnings(self) -> int:
        return len(self.problems) - self.errors


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def summary(results: Sequence[FileResult], unreadable: int = 0) -> str:
    """The one-line summary for stderr, e.g.
    ``3 files checked: 2 valid, 1 invalid (4 errors, 1 warning)``."""
    invalid = sum(r.errors > 0 for r in results)
    errors = sum(r.errors for r in results)
    warnings = sum(r.warnings for r in results)
    line = (
        f"{_plural(len(results), 'file')} checked: {len(results) - invalid} valid, "
        f"{invalid} invalid ({_plural(errors, 'error')}, {_plural(warnings, 'warning')})"
    )
    if unreadable:
        line += f"; {unreadable} not checked (see above)"
    return line


def _problems(results: Sequence[FileResult]) -> list[Problem]:
    return [p for r in results for p in r.problems]


class Reporter:
    """Formats all results at once (so json and sarif can be one document)."""

    name: ClassVar[str]
    help: ClassVar[str]

    def render(self, results: Sequence[FileResult]) -> str:
        raise NotImplementedError


class TextReporter(Reporter):
    name = "text"
    help = "one line per problem: file:line:col: CODE message (at /json/pointer)"

    def render(self, results: Sequence[FileResult]) -> str:
        return "".join(p.format() + "\n" for p in _problems(results))


class JsonReporter(Reporter):
    name = "json"
    help = "one JSON object: every file with its problems"

    def render(self, results: Sequence[FileResult]) -> str:
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
                    }
                    for p in r.problems
                ],
            }
            for r in results
        ]
        return json.dumps({"files": files}, indent=2, ensure_ascii=False) + "\n"


def _escape_data(text: str) -> str:
    """GitHub workflow command data: %, CR and LF are percent-encoded."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    """Workflow command properties additionally encode ':' and ','."""
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


class GithubReporter(Reporter):
    name = "github"
    help = "GitHub Actions workflow annotations (::error file=...,line=...::message)"

    def render(self, results: Sequence[FileResult]) -> str:
        lines = []
        for p in _problems(results):
            props = {"file": p.file, "line": p.line, "col": p.column, "title": p.code}
            shown = ",".join(
                f"{key}={_escape_property(str(value))}"
                for key, value in props.items()
                if value is not None
            )
            message = f"{p.message} (at {p.pointer or '/'})"
            lines.append(f"::{p.severity} {shown}::{_escape_data(message)}\n")
        return "".join(lines)


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

    def render(self, results: Sequence[FileResult]) -> str:
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
        sarif: dict[str, Any] = {
            "$schema": self.SCHEMA,
            "version": "2.1.0",
            "runs": [
                {
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
            ],
        }
        return json.dumps(sarif, indent=2, ensure_ascii=False) + "\n"

    @staticmethod
    def _result(problem: Problem, rule_index: int) -> dict[str, Any]:
        physical: dict[str, Any] = {"artifactLocation": {"uri": _artifact_uri(problem.file or "")}}
        if problem.line is not None:
            physical["region"] = {"startLine": problem.line, "startColumn": problem.column or 1}
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
