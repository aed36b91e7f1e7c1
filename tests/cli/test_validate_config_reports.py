"""A bad configuration file is in the json and sarif reports, not only on stderr.

CI reads those reports (a SARIF upload, a JSON consumer), often from ``-o FILE``,
and never sees stderr: a report that lists no files and no error would read as
"nothing to check". So each bad ``nnspec.toml`` / ``[tool.nnspec]`` is reported
once in them, with the file, the message, the position a TOML syntax error names
and how many documents it left unchecked; the SARIF log stays valid per the
official schema. The github format annotates the file; the text format leaves it to stderr
(which always says it).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

WARNING = (  # NN901: an unused param
    '{"nnspec": "1", "inputs": {"x": {"shape": [2]}},\n'
    ' "params": {"p": {"shape": [1], "init": "ones"}},\n'
    ' "nodes": [{"op": "relu", "inputs": ["x"]}]}\n'
)


def _tree(root: Path) -> None:
    """good/ (one document, no configuration), bad/ (two documents under a config
    naming an unknown code), toml/ (one under a pyproject.toml that is no TOML)."""
    for folder, config in (
        ("good", None),
        ("bad", ("nnspec.toml", 'ignore = ["NN999x"]\n')),
        ("toml", ("pyproject.toml", '[tool.nnspec]\nselect = [\n"NN9" x\n')),
    ):
        (root / folder).mkdir(parents=True)
        (root / folder / "a.json").write_text(WARNING)
        if config:
            (root / folder / config[0]).write_text(config[1])
    (root / "bad" / "b.json").write_text(WARNING)


def test_json_lists_each_bad_configuration_file_with_what_it_left(cwd: Path, validate) -> None:
    _tree(cwd / "tree")
    code, out, err = validate("--format", "json", "tree")
    assert code == 2
    report = json.loads(out)
    assert [f["file"] for f in report["files"]] == ["tree/good/a.json"]
    bad, toml = report["configuration_errors"]
    assert bad == {  # named from the working folder, like the documents
        "file": "tree/bad/nnspec.toml",
        "message": "ignore: 'NN999x' is no code or code prefix",
        "line": None,
        "column": None,
        "documents_not_checked": 2,
    }
    assert toml["file"] == "tree/toml/pyproject.toml"
    assert toml["message"].startswith("not valid TOML: ")
    assert toml["message"].endswith("(at line 3, column 7)")
    assert (toml["line"], toml["column"], toml["documents_not_checked"]) == (3, 7, 1)
    # stderr still says it, as for every format
    assert f"nnspec validate: {bad['file']}: {bad['message']}" in err


def test_sarif_carries_them_as_configuration_notifications(
    cwd: Path, validate, assert_valid_sarif: Callable[[Any], None]
) -> None:
    _tree(cwd / "tree")
    code, out, _ = validate("--format", "sarif", "tree")
    assert code == 2
    log = json.loads(out)
    assert_valid_sarif(log)
    (run,) = log["runs"]
    assert {r["ruleId"] for r in run["results"]} == {"NN901"}  # the checked document's
    (invocation,) = run["invocations"]
    assert invocation["executionSuccessful"] is False
    bad, toml = invocation["toolConfigurationNotifications"]
    assert bad["level"] == "error"
    assert bad["message"]["text"] == (
        "ignore: 'NN999x' is no code or code prefix (2 documents not checked)"
    )
    location = bad["locations"][0]["physicalLocation"]
    assert location == {"artifactLocation": {"uri": "tree/bad/nnspec.toml"}}
    assert toml["locations"][0]["physicalLocation"]["region"] == {"startLine": 3, "startColumn": 7}
    assert bad["properties"] == {"documentsNotChecked": 2}


@pytest.mark.parametrize("fmt", ["json", "sarif"])
def test_a_bad_config_option_file_is_reported_too(
    fmt: str, cwd: Path, validate, assert_valid_sarif: Callable[[Any], None]
) -> None:
    (cwd / "w.json").write_text(WARNING)
    (cwd / "settings.toml").write_text("selct = []\n")
    code, out, err = validate(
        "--format", fmt, "--config", "settings.toml", "-o", "r.json", "w.json"
    )
    assert (code, out) == (2, "")
    assert "settings.toml: unknown setting 'selct'; did you mean 'select'?" in err
    report = json.loads((cwd / "r.json").read_text())
    if fmt == "json":
        assert report["files"] == []
        (problem,) = report["configuration_errors"]
        assert problem["file"] == "settings.toml" and problem["documents_not_checked"] == 1
        assert problem["message"].startswith("unknown setting 'selct'; did you mean 'select'?")
    else:
        assert_valid_sarif(report)
        (notification,) = report["runs"][0]["invocations"][0]["toolConfigurationNotifications"]
        assert notification["message"]["text"].startswith("unknown setting 'selct'")


@pytest.mark.parametrize("fmt", ["json", "sarif"])
def test_a_clean_run_keeps_the_reports_shape(fmt: str, cwd: Path, validate) -> None:
    (cwd / "w.json").write_text(WARNING)
    code, out, _ = validate("--format", fmt, "w.json")
    assert code == 0
    report = json.loads(out)
    assert "configuration_errors" not in report
    assert "invocations" not in report.get("runs", [{}])[0]


def test_text_leaves_it_to_stderr(cwd: Path, validate) -> None:
    _tree(cwd / "tree")
    code, out, err = validate("--format", "text", "tree")
    assert code == 2
    assert "nnspec.toml" not in out and "NN999x" in err


def test_github_annotates_each_bad_configuration_file(cwd: Path, validate) -> None:
    """A job's stderr is not annotated on the pull request, so the github format
    writes an error annotation on each bad file, where TOML names a position there."""
    _tree(cwd / "tree")
    code, out, err = validate("--format", "github", "tree")
    assert code == 2 and "NN999x" in err
    bad, toml, *documents = out.splitlines()
    assert bad == (
        "::error file=tree/bad/nnspec.toml,title=configuration::"
        "ignore: 'NN999x' is no code or code prefix (2 documents not checked)"
    )
    assert toml.startswith(
        "::error file=tree/toml/pyproject.toml,line=3,col=7,title=configuration::"
    )
    assert toml.endswith("(at line 3, column 7) (1 document not checked)")
    assert documents and all("tree/good/a.json" in line for line in documents)


def test_a_configuration_above_the_working_folder_is_named_in_full(
    cwd: Path, validate, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only a file below the working folder is named relative to it; one above
    (walked up to from a document there) keeps its absolute path, never '../'."""
    _tree(cwd / "tree")
    (cwd / "tree" / "bad" / "sub").mkdir()
    (cwd / "tree" / "bad" / "sub" / "c.json").write_text(WARNING)
    monkeypatch.chdir(cwd / "tree" / "bad" / "sub")
    code, out, err = validate("--format", "json", "c.json")
    assert code == 2
    (problem,) = json.loads(out)["configuration_errors"]
    assert problem["file"] == str(cwd / "tree" / "bad" / "nnspec.toml")
    assert f"nnspec validate: {problem['file']}: ignore:" in err


def test_a_deleted_working_folder_does_not_stop_the_check(
    tmp_path: Path, validate, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "w.json").write_text(WARNING)
    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()  # the shell's folder was removed under it: os.getcwd() fails
    code, out, err = validate(str(tmp_path / "w.json"))
    assert code == 0 and "NN901" in out, err  # checked with the defaults, as before
