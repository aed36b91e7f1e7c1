"""Strict JSON parsing with source positions: the first stage of the pipeline.

``JSON text ──parse──▶ document``. This module turns bytes or text into plain
Python data and keeps enough to answer "where in the file is ``/nodes/3/units``?"
for every later stage (schema, check, shapes), which report problems by JSON
pointer only.

It is stricter than :func:`json.loads`: an empty file, invalid UTF-8, a byte-order
mark, duplicate keys, ``NaN``/``Infinity`` and nesting deeper than
``Limits.max_depth`` are all rejected with located `Problem`s (codes NN001-NN007,
NN601). Nothing but `SpecError` escapes, whatever the input.

Speed: the happy path is the C ``json.loads``, guarded by a depth pre-check that
cannot recurse. Positions are computed lazily, by a small iterative scanner
(`_Scanner`), only when someone asks for one or when an error must be located.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from itertools import accumulate
from typing import Any, NoReturn, cast

from nnspec.errors import Problem, SpecError, pointer_join
from nnspec.fileio import open_regular
from nnspec.portable import Portable
from nnspec.spec.limits import DEFAULT_LIMITS, Limits

__all__ = ["ParsedDocument", "parse_json", "read_document", "value_problems"]

_BOM = "\ufeff"
_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_BOM_MESSAGE = "the file starts with a UTF-8 byte-order mark (BOM); save it as UTF-8 without BOM"

# The C json decoder recurses once per nesting level and raises RecursionError near
# sys.getrecursionlimit() (1000 by default), so no limit above this can be honoured.
_PARSER_MAX_DEPTH = 500

_WS = re.compile(r"[ \t\n\r]*")
_NEWLINE = re.compile(r"\n")
# A valid JSON string, exactly as json.loads(strict=True) accepts it.
_STRING = re.compile(r'"[^"\\\x00-\x1f]*(?:\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})[^"\\\x00-\x1f]*)*"')
_STRING_PLAIN = re.compile(r'[^"\\\x00-\x1f]*')
_STRING_ESCAPE = re.compile(r'\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})')
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_INDEX = re.compile(r"(?:0|[1-9][0-9]{0,17})\Z")
# For the depth pre-check: any string, also an unterminated one (it runs to the end
# of the text), so that the substitution below stays linear on hostile input.
_LOOSE_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


def _always_matching(pattern: re.Pattern[str]) -> Callable[[str, int], re.Match[str]]:
    """`pattern.match`, typed as never returning None: `pattern` matches the empty
    string, so it matches at every position."""
    assert pattern.match("") is not None
    return cast("Callable[[str, int], re.Match[str]]", pattern.match)


_match_ws = _always_matching(_WS)
_match_string_plain = _always_matching(_STRING_PLAIN)
_DEPTH_STEPS = str.maketrans({"[": "\x01", "{": "\x01", "]": "\xff", "}": "\xff"})
_DECODER = json.JSONDecoder()  # accepts NaN/Infinity, which later stages may locate
_LITERALS = {"t": "true", "f": "false", "n": "null", "N": "NaN", "I": "Infinity"}


@dataclass(frozen=True)
class ParsedDocument:
    """A strictly parsed JSON document that can say where each of its values is.

    `position` builds its index on first use and caches it on the instance, so a
    document nobody asks about costs nothing beyond ``json.loads``.
    """

    data: Any
    text: str
    path: str | None = None

    def position(self, pointer: str) -> tuple[int, int] | None:
        """1-based ``(line, column)`` of what the RFC 6901 `pointer` names.

        A member is located at its key's opening quote, an array element and the
        root (``""``) at their first character. A pointer that does not resolve
        falls back to its deepest resolving prefix. Columns count characters.
        Returns None only if the text cannot be scanned (it did not come from
        `parse_json`).
        """
        index = self.__dict__.get("_positions")
        if index is None:
            index = _PositionIndex.build(self.text)
            object.__setattr__(self, "_positions", index)
        if index.root is None:
            return None
        return index.lines.line_col(index.offset(pointer))

    def span(self, pointer: str) -> tuple[int, int, int, int] | None:
        """``(line, column, end line, end column)`` of what `pointer` names: a
        member from its key to the end of its value, an element or the root the
        whole value. The end is exclusive (just past the last character)."""
        where = self.position(pointer)
        if where is None:
            return None
        index: _PositionIndex = self.__dict__["_positions"]
        start = index.offset(pointer)
        return (*where, *index.lines.line_col(index.end(start)))

    def locate(self, problem: Problem) -> Problem:
        """`problem` with file, line, column and their ends filled in from its pointer."""
        span = self.span(problem.pointer)
        line, column, end_line, end_column = span if span is not None else (None,) * 4
        return problem.located(
            file=self.path, line=line, column=column, end_line=end_line, end_column=end_column
        )


def parse_json(
    source: str | bytes, *, path: str | None = None, limits: Limits = DEFAULT_LIMITS
) -> ParsedDocument:
    """Parse `source` strictly; raise `SpecError` with located problems if it is not
    acceptable JSON. Numbers that overflow (``1e999``) stay as ``inf``: the checker,
    not the parser, judges values."""
    text = _decode(source, path, limits)
    if _match_ws(text, 0).end() == len(text):
        _fail(
            text,
            path,
            "NN001",
            0,
            "the file is empty (or only whitespace); expected a JSON document",
        )
    max_depth = min(limits.max_depth, _PARSER_MAX_DEPTH)
    if _deeper_than(text, max_depth):
        _raise_scan_problems(text, path, max_depth)
    flags: list[str] = []
    try:
        data = json.loads(
            text,
            object_pairs_hook=lambda pairs: _object(pairs, flags),
            parse_constant=lambda name: _constant(name, flags),
        )
    except (ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
        _raise_scan_problems(text, path, max_depth, exc)
    if flags:
        _raise_scan_problems(text, path, max_depth)
    parsed = ParsedDocument(data, text, path)
    if _SUSPECT.search(text):  # a cheap pre-filter: the walk decides
        problems = value_problems(data)
        if problems:
            raise SpecError([parsed.locate(p) for p in problems])
    return parsed


# Text that may hold a number beyond float64 (a 3-digit exponent or 300 digits) or a lone
# surrogate (escaped, or raw in a str source).
_SUSPECT = re.compile(r"[eE][+]?0*[1-9][0-9]{2}|[0-9]{300}|\\u[dD][89a-fA-F]|[\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def value_problems(data: Any) -> list[Problem]:
    """Values no document may hold, wherever they are (also under ``x-`` keys):

    - NN008: a number beyond the float64 range (``1e999`` parses to inf, ``10**400`` is
      an int no float holds), or a non-finite float in a document given as a dict;
    - NN009: a string or key with a lone surrogate (``"\\ud800"`` is valid JSON but not
      Unicode text: no UTF-8 file, terminal or report can hold it). Control characters,
      NUL included, are text: every writer escapes them.

    Iterative, so nesting depth cannot exhaust the stack.
    """
    problems: list[Problem] = []
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(data, ())]
    while stack:
        value, path = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                if isinstance(key, str) and _SURROGATE.search(key):
                    # located at the object: a pointer holding the key could not be printed
                    problems.append(_string_problem(f"the key {key!r}", key, path))
                stack.append((item, (*path, key)))
        elif isinstance(value, list):
            stack.extend((item, (*path, i)) for i, item in enumerate(value))
        elif isinstance(value, str):
            if _SURROGATE.search(value):
                problems.append(_string_problem("the string", value, path))
        elif isinstance(value, float) and not math.isfinite(value):
            problems.append(Problem("NN008", _float_message(value), pointer_join(*path)))
        elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > _FLOAT_MAX:
            digits = len(str(abs(value)))
            message = (
                f"an integer with {digits} digits is beyond the range of a float64 (about "
                "1.8e308); write a number within it"
            )
            problems.append(Problem("NN008", message, pointer_join(*path)))
    return problems


_FLOAT_MAX = int(sys.float_info.max)


def _float_message(value: float) -> str:
    if math.isnan(value):
        return "NaN is not a number; write a finite value"
    return (
        "this number overflows a float64 (it reads as infinity; the largest is about "
        "1.8e308); write a finite value"
    )


def _string_problem(what: str, text: str, path: tuple[str | int, ...]) -> Problem:
    found = _SURROGATE.search(text)
    assert found is not None
    message = (
        f"{what} holds a lone surrogate (U+{ord(found.group()):04X}) at character "
        f"{found.start()}, which is not text; remove it, or pair it as UTF-16 escapes do "
        "(\\ud83d\\ude00 is one character)"
    )
    return Problem("NN009", message, pointer_join(*path))


def read_document(path: str | os.PathLike, *, limits: Limits = DEFAULT_LIMITS) -> ParsedDocument:
    """Read and parse the regular file at `path`. Its size is checked before it is
    read, and at most ``max_file_bytes + 1`` bytes are read, so a huge file cannot
    exhaust memory; FIFOs and devices are refused. `OSError` propagates unchanged."""
    name = os.fsdecode(path)
    with open_regular(path) as file:  # a FIFO or device is refused, never waited on
        size = os.fstat(file.fileno()).st_size
        if size > limits.max_file_bytes:
            _fail("", name, "NN601", 0, _size_message(size, limits))
        # Never ask for more than the file holds: read(n) allocates n bytes up front.
        source = file.read(min(size, limits.max_file_bytes) + 1)
    return parse_json(source, path=name, limits=limits)


# --- text-level checks ---------------------------------------------------------


def _decode(source: str | bytes, path: str | None, limits: Limits) -> str:
    """Check size, BOM and encoding, which must be settled before any JSON is read."""
    if isinstance(source, str):
        # Cheap bounds first; encoding 10 MB just to measure it is wasteful.
        if len(source) * 4 > limits.max_file_bytes:
            size = len(source.encode("utf-8", "surrogatepass"))
            if size > limits.max_file_bytes:
                _fail("", path, "NN601", 0, _size_message(size, limits))
        text = source
    else:
        source = bytes(source)
        if len(source) > limits.max_file_bytes:
            _fail("", path, "NN601", 0, _size_message(len(source), limits))
        if source.startswith(_UTF8_BOM):
            _fail("", path, "NN003", 0, _BOM_MESSAGE)
        text = _decode_utf8(source, path)
    if text.startswith(_BOM):
        _fail("", path, "NN003", 0, _BOM_MESSAGE)
    return text


def _decode_utf8(source: bytes, path: str | None) -> str:
    """Decode strictly; on failure point at the first bad byte in characters."""
    try:
        return source.decode("utf-8")
    except UnicodeDecodeError as exc:
        good = source[: exc.start].decode("utf-8")
        if source.startswith(_UTF16_BOMS):
            message = "the file is UTF-16 encoded; save it as UTF-8"
        else:
            message = f"invalid UTF-8 byte 0x{source[exc.start]:02x}; save the file as UTF-8"
        _fail(good, path, "NN002", len(good), message)


def _size_message(size: int, limits: Limits) -> str:
    return (
        f"the document is {size} bytes, more than the limit of "
        f"{limits.max_file_bytes} bytes (max_file_bytes)"
    )


def _deeper_than(text: str, max_depth: int) -> bool:
    """True if brackets outside strings nest deeper than `max_depth`.

    Runs in C (regex, translate, accumulate), never recurses, and never misses
    depth that json.loads would reach: strings are matched left to right the way
    JSON reads them, and an unterminated string, where json.loads stops anyway,
    swallows the rest of the text.
    """
    brackets = _NOT_BRACKET.sub("", _LOOSE_STRING.sub("", text))
    if brackets.count("[") + brackets.count("{") <= max_depth:
        return False
    steps = memoryview(brackets.translate(_DEPTH_STEPS).encode("latin-1")).cast("b")
    return max(accumulate(steps)) > max_depth


def _object(pairs: list[tuple[str, Any]], flags: list[str]) -> dict[str, Any]:
    """object_pairs_hook: notes a duplicate key; the scanner later finds them all."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        flags.append("duplicate")
    return obj


def _constant(name: str, flags: list[str]) -> float:
    """parse_constant: notes NaN/Infinity; the scanner later locates them."""
    flags.append(name)
    return float(name)


# --- turning scanner findings into problems ------------------------------------


class _Lines:
    """Maps character offsets to 1-based (line, column); lines end at ``\\n``."""

    def __init__(self, text: str) -> None:
        self._text = text
        self._starts: list[int] | None = None

    def line_col(self, offset: int) -> tuple[int, int]:
        if self._starts is None:
            self._starts = [0, *(m.end() for m in _NEWLINE.finditer(self._text))]
        line = bisect_right(self._starts, offset)
        return line, offset - self._starts[line - 1] + 1


def _fail(text: str, path: str | None, code: str, offset: int, message: str) -> NoReturn:
    line, column = _Lines(text).line_col(offset)
    raise SpecError([Problem(code, message, "", path, line, column)])


def _raise_scan_problems(
    text: str,
    path: str | None,
    max_depth: int,
    exc: BaseException | None = None,
) -> NoReturn:
    """Scan `text` to locate what json.loads (or the depth pre-check) objected to.

    A syntax error stops the scan and is the only problem reported, since what
    follows it cannot be trusted; duplicate keys and NaN literals are all collected.
    """
    scanner = _Scanner(text, max_depth)
    lines = _Lines(text)
    try:
        scanner.run()
    except _ScanError as err:
        problem = _problem(lines, path, err.code, err.offset, err.message, err.pointer)
        raise SpecError([problem]) from None
    found = [_problem(lines, path, *finding) for finding in scanner.findings]
    if not found:  # the scanner accepted what json.loads rejected: report json's view
        found = [_fallback_problem(lines, path, exc)]
    raise SpecError(found)


def _problem(
    lines: _Lines, path: str | None, code: str, offset: int, message: str, pointer: str
) -> Problem:
    line, column = lines.line_col(offset)
    return Problem(code, message, pointer, path, line, column)


def _fallback_problem(lines: _Lines, path: str | None, exc: BaseException | None) -> Problem:
    if isinstance(exc, json.JSONDecodeError):
        return _problem(lines, path, "NN004", exc.pos, exc.msg, "")
    if isinstance(exc, RecursionError):
        message = "nesting is too deep for the JSON parser"
        return _problem(lines, path, "NN007", 0, message, "")
    return _problem(lines, path, "NN004", 0, f"invalid JSON: {exc}", "")


# --- the position-tracking scanner ---------------------------------------------


class _IndexNode:
    """A container in the position index. `children` maps each key to
    ``(key offset, child)`` for objects, or lists the children of arrays; a child
    is a `_IndexNode` or, for scalars, just the offset where it starts."""

    __slots__ = ("children", "start")

    def __init__(self, start: int, children: dict[str, tuple[int, Any]] | list[Any]) -> None:
        self.start = start
        self.children = children


def _start_of(child: _IndexNode | int) -> int:
    return child if isinstance(child, int) else child.start


class _Frame:
    """An open container during the scan; `step` is the key or index being read."""

    __slots__ = ("is_object", "key_start", "node", "step")

    def __init__(self, node: _IndexNode, is_object: bool) -> None:
        self.node = node
        self.is_object = is_object
        self.step: str | int | None = None
        self.key_start = 0


class _ScanError(Portable, Exception):
    """A fatal problem found by the scanner (the scan cannot go on)."""

    def __init__(self, code: str, offset: int, message: str, pointer: str) -> None:
        super().__init__(message)
        self.code = code
        self.offset = offset
        self.message = message
        self.pointer = pointer


_VALUE, _KEY, _AFTER, _DONE = range(4)


class _Scanner:
    """One iterative left-to-right pass over JSON text.

    Accepts exactly what ``json.loads`` accepts (plus NaN/Infinity, which it
    records), builds a `_IndexNode` tree of offsets, collects duplicate keys and
    non-finite literals in `findings`, and raises `_ScanError` at the first syntax
    error or at the first container nested deeper than `max_depth`. An explicit
    stack replaces recursion, so any depth is safe.
    """

    def __init__(self, text: str, max_depth: int) -> None:
        self.text = text
        self.max_depth = max_depth
        self.stack: list[_Frame] = []
        self.root: _IndexNode | int | None = None
        self.findings: list[tuple[str, int, str, str]] = []  # code, offset, message, pointer
        self.after_comma = False
        self._lines = _Lines(text)
        self._int_digits = getattr(sys, "get_int_max_str_digits", lambda: 0)()

    def run(self) -> _IndexNode | int:
        """Scan the whole text and return the root of the position tree."""
        text, ws = self.text, _match_ws
        steps = {_VALUE: self._value, _KEY: self._key, _AFTER: self._after}
        pos, state = ws(text, 0).end(), _VALUE
        while state != _DONE:
            pos, state = steps[state](pos)
            pos = ws(text, pos).end()
        assert self.root is not None
        return self.root

    # Each state reads one token at `pos` (whitespace already skipped) and
    # returns where to continue and the next state.

    def _value(self, pos: int) -> tuple[int, int]:
        text = self.text
        if self.stack and not self.stack[-1].is_object:  # so errors point at this element
            self.stack[-1].step = len(self.stack[-1].node.children)
        char = text[pos : pos + 1]
        if char == '"':
            end = self._string_end(pos)
            self._attach(pos)
            return end, _AFTER
        if char and char in "-0123456789":
            if text.startswith("-Infinity", pos):
                return self._nonfinite(pos, "-Infinity")
            number = _NUMBER.match(text, pos)
            if number is not None:
                self._check_int(number)
                self._attach(pos)
                return number.end(), _AFTER
        elif char == "{" or char == "[":
            return self._open(pos, char == "{")
        elif char in _LITERALS and text.startswith(_LITERALS[char], pos):
            literal = _LITERALS[char]
            if char in "NI":
                return self._nonfinite(pos, literal)
            self._attach(pos)
            return pos + len(literal), _AFTER
        self._syntax(pos, self._expected("a value", pos, "]"))

    def _open(self, pos: int, is_object: bool) -> tuple[int, int]:
        node = _IndexNode(pos, {} if is_object else [])
        self._attach(node)
        if len(self.stack) >= self.max_depth:
            message = f"nesting deeper than {self.max_depth} levels (max_depth)"
            raise _ScanError("NN007", pos, message, self._pointer())
        self.stack.append(_Frame(node, is_object))
        self.after_comma = False
        pos = _match_ws(self.text, pos + 1).end()
        if self.text.startswith("}" if is_object else "]", pos):
            self.stack.pop()
            return pos + 1, _AFTER
        return pos, _KEY if is_object else _VALUE

    def _key(self, pos: int) -> tuple[int, int]:
        text = self.text
        if not text.startswith('"', pos):
            self._syntax(pos, self._expected("a key in double quotes", pos, "}"))
        end = self._string_end(pos)
        raw = text[pos + 1 : end - 1]
        key = json.loads(text[pos:end]) if "\\" in raw else raw
        frame = self.stack[-1]
        frame.step, frame.key_start = key, pos
        members = frame.node.children
        assert isinstance(members, dict)  # _key runs only inside objects
        if key in members:
            first_line = self._lines.line_col(members[key][0])[0]
            message = f"duplicate key {key!r} (first on line {first_line})"
            self.findings.append(("NN005", pos, message, self._pointer()))
        colon = _match_ws(text, end).end()
        if not text.startswith(":", colon):
            self._syntax(colon, f"expected ':' after key {key!r}, found {self._found(colon)}")
        return colon + 1, _VALUE

    def _after(self, pos: int) -> tuple[int, int]:
        text = self.text
        if not self.stack:
            if pos == len(text):
                return pos, _DONE
            self._syntax(pos, f"unexpected {self._found(pos)} after the JSON value")
        frame = self.stack[-1]
        if text.startswith(",", pos):
            self.after_comma = True
            return pos + 1, _KEY if frame.is_object else _VALUE
        closer, what = ("}", "object member") if frame.is_object else ("]", "array element")
        if not text.startswith(closer, pos):
            self._syntax(pos, f"expected ',' or '{closer}' after {what}, found {self._found(pos)}")
        self.stack.pop()
        return pos + 1, _AFTER

    def _attach(self, child: _IndexNode | int) -> None:
        """Hang a value starting now under the open container (or make it the root)."""
        self.after_comma = False
        if not self.stack:
            self.root = child
            return
        frame = self.stack[-1]
        children = frame.node.children
        if frame.is_object:
            # Keep the first of duplicate keys: the document is rejected anyway.
            assert isinstance(children, dict) and isinstance(frame.step, str)
            children.setdefault(frame.step, (frame.key_start, child))
        else:
            assert isinstance(children, list)
            children.append(child)

    def _nonfinite(self, pos: int, literal: str) -> tuple[int, int]:
        self._attach(pos)
        message = f"{literal} is not valid JSON; write a finite number or null"
        self.findings.append(("NN006", pos, message, self._pointer()))
        return pos + len(literal), _AFTER

    def _check_int(self, number: re.Match[str]) -> None:
        """json.loads refuses integers longer than Python's int/str digit limit."""
        if number.group(1) is None and number.group(2) is None and self._int_digits:
            digits = len(number.group().lstrip("-"))
            if digits > self._int_digits:
                message = f"integer with {digits} digits; at most {self._int_digits} are allowed"
                raise _ScanError("NN601", number.start(), message, self._pointer())

    def _string_end(self, pos: int) -> int:
        """End offset of the valid JSON string starting at `pos`, or a syntax error
        saying what is wrong with it."""
        match = _STRING.match(self.text, pos)
        if match is not None:
            return match.end()
        text, i = self.text, pos + 1
        while True:
            i = _match_string_plain(text, i).end()
            if i >= len(text):
                self._syntax(pos, "unterminated string (missing closing '\"')")
            if text[i] == "\n":
                self._syntax(pos, "string not closed before the end of the line (missing '\"'?)")
            if text[i] != "\\":
                message = f"control character {text[i]!r} in a string must be escaped"
                self._syntax(i, message)
            escape = _STRING_ESCAPE.match(text, i)
            if escape is None:
                self._syntax(i, f"invalid escape {text[i : i + 2]!r} in a string")
            i = escape.end()

    def _expected(self, what: str, pos: int, closer: str) -> str:
        found = self._found(pos)
        if self.after_comma and self.text.startswith(closer, pos):
            return f"expected {what} after ',', found {found} (trailing commas are not allowed)"
        if self.text.startswith("'", pos):
            return f'expected {what}, found "\'" (JSON strings use double quotes)'
        return f"expected {what}, found {found}"

    def _found(self, pos: int) -> str:
        """Describe what sits at `pos`, for messages."""
        text = self.text
        if pos >= len(text):
            return "end of file"
        if text.startswith(("//", "/*"), pos):
            return "a comment (JSON has no comments)"
        word = _WORD.match(text, pos)
        if word is not None:
            return repr(word.group()[:20])
        return repr(text[pos])

    def _syntax(self, pos: int, message: str) -> NoReturn:
        raise _ScanError("NN004", pos, message, self._pointer())

    def _pointer(self) -> str:
        """JSON pointer of the value being read, from the open containers."""
        steps = []
        for frame in self.stack:
            if frame.step is None:
                break
            steps.append(frame.step)
        return pointer_join(*steps)


class _PositionIndex:
    """Offsets of the values pointers name, found on demand in text that parses.

    The full `_Scanner` is a Python loop over every character: seconds on a document
    of a few megabytes, which reporting one warning must not cost. This index only
    walks the containers on the pointers asked about, one member at a time; each
    member's value is skipped by the C decoder (``raw_decode``), so locating a
    problem costs about one ``json.loads`` of the containers on its path, and the
    child offsets of each container visited are kept for the next question.
    """

    def __init__(self, root: int | None, lines: _Lines, text: str) -> None:
        self.root = root  # offset of the root value; None if the text does not parse
        self.lines = lines
        self.text = text
        self._ends: dict[int, int] = {}
        self._children: dict[int, dict[str, tuple[int, int]] | list[int] | None] = {}

    @classmethod
    def build(cls, text: str) -> _PositionIndex:
        start = _match_ws(text, 0).end()
        try:
            _, end = _DECODER.raw_decode(text, start)
        except (ValueError, RecursionError):
            return cls(None, _Lines(text), text)
        index = cls(start, _Lines(text), text)
        index._ends[start] = end
        return index

    def end(self, start: int) -> int:
        """Offset just past the value (or the member: key, colon, value) at `start`.

        The text parsed already, so the C decoder cannot fail or recurse too deep
        here; ends are cached because many problems share one container."""
        end = self._ends.get(start)
        if end is None:
            _, end = _DECODER.raw_decode(self.text, start)
            after = _match_ws(self.text, end).end()
            if self.text.startswith(":", after):  # `start` is a member's key
                end = self._value_end(_match_ws(self.text, after + 1).end())
            self._ends[start] = end
        return end

    def _value_end(self, start: int) -> int:
        end = self._ends.get(start)
        if end is None:
            _, end = _DECODER.raw_decode(self.text, start)
            self._ends[start] = end
        return end

    def _members(self, start: int) -> dict[str, tuple[int, int]] | list[int] | None:
        """The children of the container at `start`: ``key -> (key offset, value
        offset)`` for an object (the first of duplicate keys), the value offsets for
        an array; None for a scalar."""
        if start in self._children:
            return self._children[start]
        text = self.text
        opener = text[start]
        found: dict[str, tuple[int, int]] | list[int] | None = None
        if opener == "{" or opener == "[":
            closer = "}" if opener == "{" else "]"
            members: dict[str, tuple[int, int]] = {}
            elements: list[int] = []
            pos = _match_ws(text, start + 1).end()
            while not text.startswith(closer, pos):
                if opener == "{":
                    key_end = _STRING.match(text, pos).end()  # type: ignore[union-attr]
                    raw = text[pos + 1 : key_end - 1]
                    key = json.loads(text[pos:key_end]) if "\\" in raw else raw
                    value = _match_ws(text, _match_ws(text, key_end).end() + 1).end()
                    members.setdefault(key, (pos, value))
                else:
                    value = pos
                    elements.append(value)
                pos = _match_ws(text, self._value_end(value)).end()
                if text.startswith(",", pos):
                    pos = _match_ws(text, pos + 1).end()
            found = members if opener == "{" else elements
        self._children[start] = found
        return found

    def offset(self, pointer: str) -> int:
        """Offset for `pointer`, or for its deepest resolving prefix."""
        assert self.root is not None
        offset = node = self.root
        tokens = pointer.split("/")[1:] if pointer.startswith("/") else []
        for token in tokens:
            children = self._members(node)
            if isinstance(children, dict):
                token = token.replace("~1", "/").replace("~0", "~")
                if token not in children:
                    break
                offset, node = children[token]
            elif isinstance(children, list):
                if not _INDEX.match(token) or int(token) >= len(children):
                    break
                offset = node = children[int(token)]
            else:
                break
        return offset
