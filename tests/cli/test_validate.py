"""``nnspec validate``: every reporter's exact output, exit codes, globs, summaries."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from nnspec.cli.main import main
from nnspec.cli.report import REPORTERS
from nnspec.errors import CODES

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

BAD = """{
  "nnspec": "1",
  "inputs": {"x": {"shape": ["batch", 2]}},
  "nodes": [
    {"id": "hidden", "op": "dense", "units": 4},
    {"id": "out", "op": "dense", "units": 1, "inputs": ["hiden"]}
  ]
}
"""
WARN = """{
  "nnspec": "1",
  "inputs": {"x": {"shape": ["batch", 2]}},
  "params": {"scale": {"shape": [1], "init": "ones"}},
  "nodes": [{"id": "out", "op": "relu"}]
}
"""
BAD_MESSAGE = (
    "node 'out' takes 'hiden', which is not an input, param or node; "
    "did you mean 'hidden'? (known: 'hidden', 'x')"
)


@pytest.fixture
def docs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working folder with bad.json (one error) and warn.json (one warning)."""
    (tmp_path / "bad.json").write_text(BAD, encoding="utf-8")
    (tmp_path / "warn.json").write_text(WARN, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_text_output(docs: Path, validate) -> None:
    code, out, err = validate("bad.json", "warn.json")
    assert code == 1
    assert out == (
        f"bad.json:6:57: NN202 {BAD_MESSAGE} (at /nodes/1/inputs/0, ends at 6:64)\n"
        "warn.json:4:14: warning NN901 param 'scale' is never used "
        "(at /params/scale, ends at 4:53)\n"
    )
    assert err == "2 files checked: 1 valid, 1 invalid (1 error, 1 warning)\n"


def test_json_output(docs: Path, validate) -> None:
    code, out, _ = validate("--format", "json", "bad.json", "warn.json")
    assert code == 1
    assert json.loads(out) == {
        "files": [
            {
                "file": "bad.json",
                "valid": False,
                "problems": [
                    {
                        "code": "NN202",
                        "severity": "error",
                        "title": "reference to an unknown name",
                        "message": BAD_MESSAGE,
                        "pointer": "/nodes/1/inputs/0",
                        "line": 6,
                        "column": 57,
                        "end_line": 6,
                        "end_column": 64,
                    }
                ],
            },
            {
                "file": "warn.json",
                "valid": True,
                "problems": [
                    {
                        "code": "NN901",
                        "severity": "warning",
                        "title": "param is never used",
                        "message": "param 'scale' is never used",
                        "pointer": "/params/scale",
                        "line": 4,
                        "column": 14,
                        "end_line": 4,
                        "end_column": 53,
                    }
                ],
            },
        ]
    }


def test_github_output(docs: Path, validate) -> None:
    code, out, _ = validate("--format", "github", "bad.json", "warn.json")
    assert code == 1
    assert out == (
        "::error file=bad.json,line=6,endLine=6,col=57,endColumn=64,title=NN202::"
        f"{BAD_MESSAGE} (at /nodes/1/inputs/0)\n"
        "::warning file=warn.json,line=4,endLine=4,col=14,endColumn=53,title=NN901::"
        "param 'scale' is never used "
        "(at /params/scale)\n"
    )


def test_github_escapes_properties_and_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, validate
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a,b:c%.json").write_text('{"nnspec": "1", "x%": 1,\n}', encoding="utf-8")
    code, out, _ = validate("--format", "github", "a,b:c%.json")
    assert code == 1
    assert out.startswith(
        "::error file=a%2Cb%3Ac%25.json,line=2,endLine=2,col=1,endColumn=2,title=NN004::"
    )
    assert out.count("\n") == 1 and "%0A" not in out.split("::", 2)[1]


def test_github_data_escapes_newlines() -> None:
    from nnspec.cli.report import FileResult, GithubReporter
    from nnspec.errors import Problem

    problem = Problem("NN004", "50% bad\r\nline", "/a", "f.json", 1, 2)
    out = GithubReporter().render([FileResult("f.json", (problem,))])
    assert out == (
        "::error file=f.json,line=1,endLine=1,col=2,endColumn=3,title=NN004::"
        "50%25 bad%0D%0Aline (at /a)\n"
    )


def test_sarif_output(
    docs: Path,
    validate,
    assert_valid_sarif: Callable[[Any], None],
) -> None:
    code, out, _ = validate("--format", "sarif", "bad.json", "warn.json")
    assert code == 1
    sarif = json.loads(out)
    assert_valid_sarif(sarif)
    assert sarif["version"] == "2.1.0"
    assert sarif["$schema"].endswith("sarif-2.1.0.json")
    [run_] = sarif["runs"]
    rules = run_["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == list(CODES)
    assert all(r["shortDescription"]["text"] and r["help"]["text"] for r in rules)
    assert run_["columnKind"] == "unicodeCodePoints"
    assert run_["results"] == [
        {
            "ruleId": "NN202",
            "ruleIndex": list(CODES).index("NN202"),
            "level": "error",
            "message": {"text": BAD_MESSAGE},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": "bad.json"},
                        "region": {
                            "startLine": 6,
                            "startColumn": 57,
                            "endLine": 6,
                            "endColumn": 64,
                        },
                    }
                }
            ],
            "properties": {"pointer": "/nodes/1/inputs/0"},
        },
        {
            "ruleId": "NN901",
            "ruleIndex": list(CODES).index("NN901"),
            "level": "warning",
            "message": {"text": "param 'scale' is never used"},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": "warn.json"},
                        "region": {
                            "startLine": 4,
                            "startColumn": 14,
                            "endLine": 4,
                            "endColumn": 53,
                        },
                    }
                }
            ],
            "properties": {"pointer": "/params/scale"},
        },
    ]


@pytest.mark.parametrize("fmt", list(REPORTERS))
def test_valid_files_print_nothing_but_the_summary(fmt: str, validate) -> None:
    code, out, err = validate("--format", fmt, str(EXAMPLES / "*.json"))
    count = len(list(EXAMPLES.glob("*.json")))
    assert code == 0
    assert err == f"{count} files checked: {count} valid, 0 invalid (0 errors, 0 warnings)\n"
    if fmt in ("text", "github"):
        assert out == ""
    elif fmt == "json":
        files = json.loads(out)["files"]
        assert len(files) == count
        assert all(f["valid"] and f["problems"] == [] for f in files)
    elif fmt == "sarif":
        assert json.loads(out)["runs"][0]["results"] == []


def test_warnings_pass_unless_strict(docs: Path, validate) -> None:
    assert validate("warn.json")[0] == 0
    assert validate("--strict", "warn.json")[0] == 1


@pytest.mark.parametrize(
    ("nodes", "code"),
    [
        ('[{"op": "relu"}, {"id": "dead", "op": "tanh", "inputs": ["x"]}, {"op": "exp"}]', "NN902"),
        ('[{"op": "relu", "inputs": ["x"]}]', "NN903"),
    ],
)
def test_dead_nodes_and_unused_inputs_are_warnings(
    tmp_path: Path, validate, nodes: str, code: str
) -> None:
    doc = tmp_path / "doc.json"
    inputs = (
        '{"x": {"shape": [2]}, "z": {"shape": [2]}}' if code == "NN903" else '{"x": {"shape": [2]}}'
    )
    doc.write_text(f'{{"nnspec": "1", "inputs": {inputs}, "nodes": {nodes}}}', encoding="utf-8")
    status, out, _ = validate(str(doc))
    assert status == 0
    assert f"warning {code} " in out


def test_glob_matching_nothing_is_a_usage_error(docs: Path, validate) -> None:
    code, out, err = validate("bad.json", "models/*.json")
    assert code == 2
    assert "nnspec validate: no files match 'models/*.json'\n" in err
    assert "NN202" in out  # the readable files are still checked and reported


def test_glob_expands_sorted_and_recursive(docs: Path, validate) -> None:
    (docs / "sub").mkdir()
    (docs / "sub" / "deep.json").write_text(WARN, encoding="utf-8")
    code, out, err = validate("**/*.json", "bad.json")
    assert code == 1
    assert [line.split(":")[0] for line in out.splitlines()] == [
        "bad.json",
        "sub/deep.json",
        "warn.json",
    ]
    assert err.startswith("3 files checked")  # bad.json named twice, checked once


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    for args in (
        ["validate"],
        ["validate", "--format", "xml", "a.json"],
        ["validate", "--max-nodes", "0", "a"],
    ):
        with pytest.raises(SystemExit) as exited:
            main(args)
        assert exited.value.code == 2
    assert "Traceback" not in capsys.readouterr().err


def test_limits_options(docs: Path, validate) -> None:
    code, out, _ = validate("--max-nodes", "1", "bad.json")
    assert (code, out.split(": ", 1)[1].split()[0]) == (1, "NN601")
    code, out, _ = validate("--max-param-elements", "4", str(EXAMPLES / "xor.json"))
    assert code == 1 and "NN601 param 'hidden.W' of shape [2, 8] has 16 elements" in out
    code, out, _ = validate("--max-file-bytes", "10", "bad.json")
    assert code == 1 and "NN601 the document is" in out


def test_unreadable_bytes_are_problems_not_crashes(tmp_path: Path, validate) -> None:
    doc = tmp_path / "binary.json"
    doc.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    code, out, err = validate(str(doc))
    assert code == 1 and " NN002 " in out and "Traceback" not in err
