"""Tests for the strict JSON parser (`nnspec.spec.parse`): every rejection is a
located `SpecError`, and `position()` points at the right character."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnspec.errors import CODES, Problem, SpecError, pointer_join
from nnspec.spec import parse as parse_module
from nnspec.spec.limits import Limits
from nnspec.spec.parse import ParsedDocument, parse_json, read_document


def problems_of(source: str | bytes, **kwargs: Any) -> tuple[Problem, ...]:
    with pytest.raises(SpecError) as info:
        parse_json(source, **kwargs)
    return info.value.problems


def only_problem(source: str | bytes, **kwargs: Any) -> Problem:
    (problem,) = problems_of(source, **kwargs)
    return problem


def where(problem: Problem) -> tuple[str, int | None, int | None]:
    return problem.code, problem.line, problem.column


# --- accepted documents ----------------------------------------------------------


def test_parses_a_document_and_keeps_text_and_path() -> None:
    doc = parse_json(b'{"a": [1, 2.5, "x", true, null]}', path="m.json")
    assert doc.data == {"a": [1, 2.5, "x", True, None]}
    assert doc.text == '{"a": [1, 2.5, "x", true, null]}'
    assert doc.path == "m.json"


def test_scalars_are_documents_too() -> None:
    assert parse_json(" 7 ").data == 7
    assert parse_json('"s"').data == "s"


@pytest.mark.parametrize(
    ("text", "pointer"),
    [
        ('{"big": 1e999}', "/big"),
        ('{"a": [1, -1e999]}', "/a/1"),
        ('{"x-meta": {"k": 1E+400}}', "/x-meta/k"),
        ('{"v": 1' + "0" * 400 + "}", "/v"),
        ('{"v": -1' + "0" * 320 + ".5}", "/v"),
    ],
)
def test_numbers_beyond_float64_are_nn008_wherever_they_are(text: str, pointer: str) -> None:
    problem = only_problem(text)
    assert (problem.code, problem.pointer) == ("NN008", pointer)
    assert (problem.line, problem.column) is not None


@pytest.mark.parametrize("text", ['{"v": 1e308}', '{"v": 1e-999}', '{"v": 1' + "0" * 300 + "}"])
def test_large_but_finite_numbers_parse(text: str) -> None:
    assert math.isfinite(float(next(iter(parse_json(text).data.values()))))


@pytest.mark.parametrize(
    ("text", "pointer"),
    [
        ('{"description": "a\\ud800"}', "/description"),
        ('{"x-\\udfff": 1}', ""),  # a key's problem is located at its object
        ('{"nodes": [{"id": "\\ude00\\ud83d"}]}', "/nodes/0/id"),
    ],
)
def test_lone_surrogates_are_nn009(text: str, pointer: str) -> None:
    problem = only_problem(text)
    assert (problem.code, problem.pointer) == ("NN009", pointer)


def test_surrogate_pairs_and_control_characters_are_text() -> None:
    data = parse_json('{"d": "\\ud83d\\ude00 \\u0000 \\u001b"}').data
    assert data == {"d": "\U0001f600 \x00 \x1b"}


def test_nesting_at_the_limit_is_fine() -> None:
    text = "[" * 64 + "]" * 64
    assert parse_json(text).data is not None
    assert parse_json("[" * 3 + "1" + "]" * 3, limits=Limits(max_depth=3)).data == [[[1]]]


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    text = '["' + "[{" * 1000 + '\\"[[["]'
    assert parse_json(text).data == ["[{" * 1000 + '"[[[']


# --- NN001 to NN003: the text itself ---------------------------------------------


@pytest.mark.parametrize("source", ["", b"", "   \n\t\r\n", b"\n\n"])
def test_empty_or_blank_file_is_nn001(source: str | bytes) -> None:
    problem = only_problem(source, path="e.json")
    assert where(problem) == ("NN001", 1, 1)
    assert problem.file == "e.json"


@pytest.mark.parametrize(
    ("source", "line", "column"),
    [
        (b'{"a": "\xff"}', 1, 8),
        (b'{\n  "\xc3\xa9\xf0\x9f\x98\x80": "\xc3"}', 2, 10),  # columns count characters
        (b"\xed\xa0\x80", 1, 1),  # an encoded surrogate is not UTF-8
    ],
)
def test_invalid_utf8_is_nn002_at_the_first_bad_byte(source: bytes, line: int, column: int) -> None:
    problem = only_problem(source, path="bad.json")
    assert where(problem) == ("NN002", line, column)
    assert problem.file == "bad.json"


def test_utf16_gets_a_specific_hint() -> None:
    problem = only_problem('{"a": 1}'.encode("utf-16"))
    assert problem.code == "NN002"
    assert "UTF-16" in problem.message


@pytest.mark.parametrize("source", [b"\xef\xbb\xbf{}", "\ufeff{}", b"\xef\xbb\xbf\xff"])
def test_byte_order_mark_is_nn003(source: str | bytes) -> None:
    problem = only_problem(source)
    assert where(problem) == ("NN003", 1, 1)
    assert "without BOM" in problem.message


# --- NN004: syntax ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "column", "pointer", "message"),
    [
        ('{"a": 1 "b": 2}', 1, 9, "/a", "expected ',' or '}' after object member"),
        ("[1, 2 3]", 1, 7, "/1", "expected ',' or ']' after array element"),
        ("[1, 2,]", 1, 7, "/2", "trailing commas are not allowed"),
        ('{"a": 1,\n}', 2, 1, "/a", "expected a key in double quotes after ','"),
        ("{} x", 1, 4, "", "unexpected 'x' after the JSON value"),
        ('{"a": 1}\n{"b": 2}', 2, 1, "", "after the JSON value"),
        ('{"a" 1}', 1, 6, "/a", "expected ':' after key 'a'"),
        ("{'a': 1}", 1, 2, "", "double quotes"),
        ("{\"a\": 'x'}", 1, 7, "/a", "double quotes"),
        ('{\n  "a": [1,\n', 3, 1, "/a/1", "expected a value, found end of file"),
        ('{"a": "xyz', 1, 7, "/a", "unterminated string"),
        ('["a\tb"]', 1, 4, "/0", "control character '\\t'"),
        ('["\\q"]', 1, 3, "/0", "invalid escape"),
        ('["\\u12G4"]', 1, 3, "/0", "invalid escape"),
        ("[01]", 1, 3, "/0", "expected ',' or ']'"),
        ("[1.]", 1, 3, "/0", "expected ',' or ']'"),
        ("[-]", 1, 2, "/0", "expected a value, found '-'"),
        ("[True]", 1, 2, "/0", "expected a value, found 'True'"),
        ("// note\n{}", 1, 1, "", "a comment (JSON has no comments)"),
        ("{]", 1, 2, "", "expected a key in double quotes"),
        ("[}", 1, 2, "/0", "expected a value, found '}'"),
        ('\t{"é": 1, ü}', 1, 11, "/é", "expected a key"),  # tab and é are one column each
    ],
)
def test_syntax_errors_are_nn004_located(
    text: str, line: int, column: int, pointer: str, message: str
) -> None:
    problem = only_problem(text, path="s.json")
    assert where(problem) == ("NN004", line, column)
    assert problem.pointer == pointer
    assert message in problem.message
    assert problem.file == "s.json"


def test_crlf_line_endings_count_one_line_each() -> None:
    problem = only_problem('{\r\n  "a": 1\r\n  "b": 2}')
    assert where(problem) == ("NN004", 3, 3)


# --- NN005: duplicate keys -------------------------------------------------------


def test_every_duplicate_key_is_reported_at_the_later_key() -> None:
    text = '{\n  "a": 1,\n  "b": 2,\n  "a": 3,\n  "b": 4,\n  "a": 5\n}'
    problems = problems_of(text, path="d.json")
    assert [(p.code, p.line, p.column, p.pointer) for p in problems] == [
        ("NN005", 4, 3, "/a"),
        ("NN005", 5, 3, "/b"),
        ("NN005", 6, 3, "/a"),
    ]
    assert "'a'" in problems[0].message and "line 2" in problems[0].message
    assert "'b'" in problems[1].message and "line 3" in problems[1].message
    assert "line 2" in problems[2].message
    assert all(p.file == "d.json" for p in problems)


def test_nested_duplicates_have_escaped_pointers() -> None:
    text = '{"a/b": {"~": [1, {"q": 1,\n "q": 2}]}, "x": {"k": 0, "k": 0}}'
    problems = problems_of(text)
    assert [(p.pointer, p.line, p.column) for p in problems] == [
        ("/a~1b/~0/1/q", 2, 2),
        ("/x/k", 2, 27),
    ]


def test_duplicates_found_through_escapes_are_duplicates() -> None:
    problem = only_problem('{"a": 1, "\\u0061": 2}')
    assert where(problem) == ("NN005", 1, 10)


# --- NN006: NaN and Infinity -----------------------------------------------------


def test_nan_and_infinity_literals_are_nn006_each_located() -> None:
    text = '{"w": [NaN,\n  -Infinity], "v": Infinity}'
    problems = problems_of(text)
    assert [(p.code, p.line, p.column, p.pointer) for p in problems] == [
        ("NN006", 1, 8, "/w/0"),
        ("NN006", 2, 3, "/w/1"),
        ("NN006", 2, 20, "/v"),
    ]
    assert "-Infinity" in problems[1].message


def test_duplicates_and_nan_are_reported_together() -> None:
    codes = sorted(p.code for p in problems_of('{"a": NaN, "a": 1}'))
    assert codes == ["NN005", "NN006"]


# --- NN007: nesting --------------------------------------------------------------


@pytest.mark.parametrize("opener", ["[", '{"a":'])
def test_very_deep_nesting_is_nn007_not_a_crash(opener: str) -> None:
    problem = only_problem(opener * 100_000)
    assert where(problem)[:2] == ("NN007", 1)
    assert problem.column == 64 * len(opener) + 1
    assert problem.pointer.count("/") == 64


def test_depth_limit_is_configurable() -> None:
    problem = only_problem('{"a": [[1]]}', limits=Limits(max_depth=2))
    assert where(problem) == ("NN007", 1, 8)
    assert problem.pointer == "/a/0"
    assert "2 levels" in problem.message


def test_a_huge_depth_limit_cannot_make_json_recurse_too_deep() -> None:
    text = "[" * 5000 + "]" * 5000
    problem = only_problem(text, limits=Limits(max_depth=10**6))
    assert problem.code == "NN007"


def test_a_syntax_error_before_the_deep_part_is_reported_first() -> None:
    problem = only_problem("[1 2" + "[" * 1000)
    assert where(problem) == ("NN004", 1, 4)


# --- NN601: size -----------------------------------------------------------------


def test_size_limit_counts_bytes_for_bytes_and_text() -> None:
    limits = Limits(max_file_bytes=10)
    assert parse_json(b'"12345678"', limits=limits).data == "12345678"
    assert only_problem(b'"123456789"', limits=limits).code == "NN601"
    # six characters, twelve bytes
    assert only_problem('"ééééé"', limits=limits).code == "NN601"
    assert parse_json('"éééé"', limits=limits).data == "éééé"


def test_integers_too_long_for_python_are_a_problem_not_a_crash() -> None:
    problem = only_problem('{"n": ' + "1" * 5000 + "}")
    assert where(problem) == ("NN601", 1, 7)
    assert problem.pointer == "/n"


# --- read_document ---------------------------------------------------------------


def test_read_document_reads_and_names_the_file(tmp_path: Any) -> None:
    file = tmp_path / "m.json"
    file.write_bytes('{"é": 1}'.encode())
    doc = read_document(file)
    assert doc.data == {"é": 1}
    assert doc.path == str(file)
    assert doc.position("/é") == (1, 2)


def test_read_document_locates_problems_in_the_file(tmp_path: Any) -> None:
    file = tmp_path / "bad.json"
    file.write_text('{"a": 1,\n "a": 2}')
    with pytest.raises(SpecError) as info:
        read_document(str(file))
    (problem,) = info.value.problems
    assert (problem.file, problem.line, problem.column) == (str(file), 2, 2)


def test_read_document_checks_size_before_reading(tmp_path: Any, monkeypatch: Any) -> None:
    file = tmp_path / "big.json"
    file.write_text("[" + "0," * 100 + "0]")

    def no_open(*args: object, **kwargs: object) -> None:
        raise AssertionError("the file must not be opened")

    monkeypatch.setattr(parse_module, "open", no_open, raising=False)
    with pytest.raises(SpecError) as info:
        read_document(file, limits=Limits(max_file_bytes=100))
    (problem,) = info.value.problems
    assert (problem.code, problem.file) == ("NN601", str(file))


def test_read_document_lets_os_errors_through(tmp_path: Any) -> None:
    with pytest.raises(FileNotFoundError):
        read_document(tmp_path / "missing.json")
    with pytest.raises(IsADirectoryError):
        read_document(tmp_path)


# --- position() ------------------------------------------------------------------

DOC = """{
  "name": "xor",
  "nodes": [
    {"id": "h", "units": 8},
    {"id": "p",
     "units": 1}
  ],
  "a/b": {"~x": [true, null]},
  "ünï😀": ["é", 3]
}"""


@pytest.mark.parametrize(
    ("pointer", "expected"),
    [
        ("", (1, 1)),
        ("/name", (2, 3)),
        ("/nodes", (3, 3)),
        ("/nodes/0", (4, 5)),
        ("/nodes/0/units", (4, 17)),
        ("/nodes/1/units", (6, 6)),
        ("/a~1b", (8, 3)),
        ("/a~1b/~0x", (8, 11)),
        ("/a~1b/~0x/1", (8, 24)),
        ("/ünï😀", (9, 3)),
        ("/ünï😀/1", (9, 17)),  # four characters before, one of them astral
        # fallbacks: the deepest prefix that resolves
        ("/nodes/1/missing", (5, 5)),
        ("/nodes/7", (3, 3)),
        ("/nodes/01", (3, 3)),
        ("/nodes/-", (3, 3)),
        ("/name/0", (2, 3)),
        ("/nope", (1, 1)),
        ("not-a-pointer", (1, 1)),
    ],
)
def test_position_follows_the_conventions(pointer: str, expected: tuple[int, int]) -> None:
    assert parse_json(DOC).position(pointer) == expected


def test_position_of_the_root_skips_leading_whitespace() -> None:
    doc = parse_json('\n\n   ["x"]')
    assert doc.position("") == (3, 4)
    assert doc.position("/0") == (3, 5)


def test_tabs_count_as_one_column() -> None:
    assert parse_json('{\t\t"a":\t1}').position("/a") == (1, 4)


def test_position_is_cached_and_stable(monkeypatch: Any) -> None:
    builds: list[str] = []
    build = parse_module._PositionIndex.build

    def counted(text: str) -> Any:
        builds.append(text)
        return build(text)

    monkeypatch.setattr(parse_module._PositionIndex, "build", counted)
    doc = parse_json(DOC)
    assert builds == []  # a document nobody asks about is never scanned
    first = doc.position("/nodes/1")
    assert doc.position("/nodes/1") == first == (5, 5)
    assert doc.position("/name") == (2, 3)
    assert builds == [DOC]  # one scan for every question


def test_locate_fills_file_line_and_column() -> None:
    doc = parse_json(DOC, path="xor.json")
    problem = doc.locate(Problem("NN102", "unknown key", "/nodes/0/units"))
    assert (problem.file, problem.line, problem.column) == ("xor.json", 4, 17)


def test_position_of_text_that_does_not_scan_is_none() -> None:
    assert ParsedDocument(None, "{oops", None).position("") is None


# --- properties ------------------------------------------------------------------


def assert_only_located_spec_errors(source: str | bytes) -> None:
    try:
        parse_json(source, path="f.json")
    except SpecError as error:
        assert error.problems
        for problem in error.problems:
            assert problem.code in CODES
            assert problem.file == "f.json"
            assert problem.line is not None and problem.line >= 1
            assert problem.column is not None and problem.column >= 1


JSONISH = st.text(alphabet='{}[]",: \n\t0123456789.eE+-\\/utrefalsnNIiy\u00e9\x01', max_size=60)


@given(st.text())
def test_random_text_raises_nothing_but_located_spec_errors(text: str) -> None:
    assert_only_located_spec_errors(text)


@given(st.binary())
def test_random_bytes_raise_nothing_but_located_spec_errors(data: bytes) -> None:
    assert_only_located_spec_errors(data)


@given(JSONISH)
def test_json_like_text_raises_nothing_but_located_spec_errors(text: str) -> None:
    assert_only_located_spec_errors(text)


@given(JSONISH)
def test_scanner_accepts_exactly_what_json_loads_accepts(text: str) -> None:
    """The scanner locates errors and positions; it must agree with json.loads."""
    try:
        json.loads(text)
        json_ok = True
    except (ValueError, RecursionError):
        json_ok = False
    try:
        parse_module._Scanner(text, max_depth=10**6).run()
        scanner_ok = True
    except parse_module._ScanError:
        scanner_ok = False
    assert scanner_ok == json_ok


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4)
    ),
    max_leaves=25,
)


def every_pointer(value: Any) -> list[tuple[str, str | None, Any]]:
    """(pointer, key or None for elements and the root, value) for every value."""
    found: list[tuple[str, str | None, Any]] = [("", None, value)]
    todo = [("", value)]
    while todo:
        pointer, node = todo.pop()
        if isinstance(node, dict):
            items: list[tuple[str | int, Any]] = list(node.items())
        elif isinstance(node, list):
            items = list(enumerate(node))
        else:
            continue
        for step, child in items:
            child_pointer = pointer + pointer_join(step)
            found.append((child_pointer, step if isinstance(step, str) else None, child))
            todo.append((child_pointer, child))
    return found


def offset_of(text: str, line: int, column: int) -> int:
    lines = text.split("\n")
    return sum(len(part) + 1 for part in lines[: line - 1]) + column - 1


@settings(deadline=None)
@given(
    json_values,
    st.sampled_from([None, 0, 1, 2, 4, "\t"]),
    st.booleans(),
    st.sampled_from(["", " ", "\n"]),
)
def test_every_pointer_points_at_the_right_character(
    value: Any, indent: int | str | None, ascii_only: bool, padding: str
) -> None:
    text = padding + json.dumps(value, indent=indent, ensure_ascii=ascii_only) + padding
    doc = parse_json(text)
    decoder = json.JSONDecoder()
    for pointer, key, expected in every_pointer(value):
        position = doc.position(pointer)
        assert position is not None
        offset = offset_of(text, *position)
        found, _ = decoder.raw_decode(text, offset)
        if key is not None:
            assert text[offset] == '"'
            assert found == key
        else:
            assert found == expected


def test_locating_problems_never_runs_the_full_scanner(monkeypatch: Any) -> None:
    # The character-by-character scanner is for text that does not parse; positions in
    # a parsed document come from the lazy index, which walks only the containers on
    # the pointers asked about (a 9 MB document: 9 s before, about a json.loads now).
    def refuse(self: Any) -> Any:
        raise AssertionError("the full scanner ran")

    monkeypatch.setattr(parse_module._Scanner, "run", refuse)
    nodes = [{"id": f"n{i}", "op": "relu", "x-note": ["a", {"b": [1, 2]}]} for i in range(500)]
    text = json.dumps({"nnspec": "1", "nodes": nodes, "outputs": ["n499"]}, indent=1)
    doc = parse_json(text)
    expected = json.loads(text)["nodes"][321]["x-note"][1]["b"][1]
    line, column = doc.position("/nodes/321/x-note/1/b/1")  # type: ignore[misc]
    offset = sum(len(row) + 1 for row in text.split("\n")[: line - 1]) + column - 1
    assert json.JSONDecoder().raw_decode(text, offset)[0] == expected
    assert doc.position("/outputs/7") == doc.position("/outputs")  # the deepest that resolves
    end_line, end_column = doc.span("/nodes/499")[2:]  # type: ignore[index]
    assert text.split("\n")[end_line - 1][: end_column - 1].strip() == "}"
