"""``nnspec validate`` inputs: unreadable files in-band, folders, links, stdin, end positions."""

from __future__ import annotations

import io
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from nnspec.cli.report import REPORTERS

GOOD = '{"nnspec": "1", "inputs": {"x": {"shape": [2]}}, "nodes": [{"op": "relu"}]}\n'
WARN = (
    '{"nnspec": "1", "inputs": {"x": {"shape": [2]}},\n'
    ' "params": {"p": {"shape": [1], "init": "ones"}},\n'
    ' "nodes": [{"op": "relu"}]}\n'
)
BROKEN = '{"nnspec": "1", "inputs": {"x": {"shape": [2]}}, "nodes": [,]}\n'


def _unreadable_cases(folder: Path) -> dict[str, str]:
    """File name -> the reason NN010 must give."""
    os.mkfifo(folder / "fifo.json")
    (folder / "dangling.json").symlink_to(folder / "nowhere.json")
    return {
        "missing.json": "No such file or directory",
        "dangling.json": "No such file or directory",
        "fifo.json": "it is a FIFO (named pipe), not a file; give the path of a regular file",
        "/dev/null": "it is a character device, not a file; give the path of a regular file",
    }


@pytest.mark.parametrize("fmt", list(REPORTERS))
def test_unreadable_files_are_reported_in_band(
    fmt: str,
    cwd: Path,
    validate,
    assert_valid_sarif: Callable[[Any], None],
) -> None:
    cases = _unreadable_cases(cwd)
    (cwd / "good.json").write_text(GOOD, encoding="utf-8")
    code, out, err = validate("--format", fmt, "good.json", *cases)
    assert code == 2
    assert "Traceback" not in err
    assert err == "1 file checked: 1 valid, 0 invalid (0 errors, 0 warnings); 4 not readable\n"
    if fmt == "text":
        assert out.splitlines() == [
            f"{name}: NN010 cannot read the file: {why}" for name, why in cases.items()
        ]
    elif fmt == "github":
        assert out.splitlines() == [
            f"::error file={name.replace(':', '%3A')},title=NN010::cannot read the file: {why}"
            for name, why in cases.items()
        ]
    elif fmt == "json":
        files = json.loads(out)["files"]
        assert [f["file"] for f in files] == ["good.json", *cases]
        for entry, why in zip(files[1:], cases.values(), strict=True):
            assert entry["valid"] is False
            [problem] = entry["problems"]
            assert (problem["code"], problem["message"]) == (
                "NN010",
                f"cannot read the file: {why}",
            )
            assert problem["line"] is None and problem["end_line"] is None
    else:
        assert_valid_sarif(json.loads(out))
        results = json.loads(out)["runs"][0]["results"]
        assert [r["ruleId"] for r in results] == ["NN010"] * 4
        uris = [r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results]
        assert uris == ["missing.json", "dangling.json", "fifo.json", "file:///dev/null"]
        assert all("region" not in r["locations"][0]["physicalLocation"] for r in results)


def test_exit_zero_covers_unreadable_and_invalid_files(cwd: Path, validate) -> None:
    (cwd / "broken.json").write_text(BROKEN, encoding="utf-8")
    assert validate("broken.json", "missing.json")[0] == 2
    code, out, _ = validate("--exit-zero", "broken.json", "missing.json")
    assert code == 0 and " NN004 " in out and " NN010 " in out
    assert validate("--exit-zero", "broken.json")[0] == 0
    assert validate("broken.json")[0] == 1
    # a glob that matches nothing is a usage error, whatever --exit-zero says
    assert validate("--exit-zero", "nothing/*.json")[0] == 2


def test_a_checker_crash_is_an_in_band_nn011(
    cwd: Path, validate, monkeypatch: pytest.MonkeyPatch
) -> None:
    import nnspec.cli.validate as command

    def broken(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(command, "validate", broken)
    (cwd / "good.json").write_text(GOOD, encoding="utf-8")
    code, out, err = validate("--format", "json", "good.json")
    [problem] = json.loads(out)["files"][0]["problems"]
    assert code == 2 and "Traceback" not in err
    assert problem["code"] == "NN011"
    assert problem["message"] == (
        "internal error while checking good.json: ZeroDivisionError: boom (please report)"
    )


def _tree(root: Path) -> None:
    """A repository with documents, other JSON, a broken document and hidden folders."""
    (root / "models" / "deep").mkdir(parents=True)
    (root / "models" / "a.json").write_text(GOOD, encoding="utf-8")
    (root / "models" / "deep" / "b.json").write_text(WARN, encoding="utf-8")
    (root / "models" / "broken.json").write_text(BROKEN, encoding="utf-8")
    (root / "models" / "notes.txt").write_text(GOOD, encoding="utf-8")
    (root / "package.json").write_text('{"name": "x", "deps": {"nnspec": "1"}}', encoding="utf-8")
    (root / "tsconfig.json").write_text("{// comments\n}", encoding="utf-8")
    (root / "list.json").write_text(f"[{GOOD}]", encoding="utf-8")
    for hidden in (".git", ".venv", "node_modules"):
        (root / hidden).mkdir()
        (root / hidden / "c.json").write_text(BROKEN, encoding="utf-8")


def test_folders_check_the_json_files_that_declare_nnspec(cwd: Path, validate) -> None:
    _tree(cwd)
    code, out, err = validate(".")
    assert code == 1
    assert [line.split(":")[0] for line in out.splitlines()] == [
        "models/broken.json",
        "models/deep/b.json",
    ]
    assert err == (
        "3 files checked: 2 valid, 1 invalid (1 error, 1 warning); "
        "3 skipped (not nnspec documents)\n"
    )
    code, out, _ = validate("models/deep")
    assert code == 0 and out.startswith("models/deep/b.json:2:13: warning NN901")


def test_only_nnspec_skips_other_named_json(cwd: Path, validate) -> None:
    _tree(cwd)
    names = ["package.json", "tsconfig.json", "list.json", "models/a.json"]
    code, out, err = validate(*names)
    assert code == 1 and "package.json:1:1: NN106" in out and "tsconfig.json:1:2: NN004" in out
    code, out, err = validate("--only-nnspec", *names)
    assert (code, out) == (0, "")
    assert err.endswith("; 3 skipped (not nnspec documents)\n")


def test_link_loops_and_second_names_check_each_file_once(cwd: Path, validate) -> None:
    (cwd / "m").mkdir()
    (cwd / "m" / "w.json").write_text(WARN, encoding="utf-8")
    (cwd / "m" / "loop").symlink_to(cwd / "m", target_is_directory=True)
    (cwd / "alias.json").symlink_to(cwd / "m" / "w.json")
    os.link(cwd / "m" / "w.json", cwd / "hard.json")
    for args in (["m/**/*.json"], ["m"], ["."], ["m/w.json", "alias.json", "hard.json", "m"]):
        code, out, err = validate(*args)
        assert code == 0, args
        assert len(out.splitlines()) == 1, (args, out)
        assert err.startswith("1 file checked"), args
    assert validate("m/**/*.json")[1].startswith("m/w.json:")


def _stdin(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode("utf-8"))))


def test_stdin_with_and_without_a_name(
    cwd: Path, validate, monkeypatch: pytest.MonkeyPatch
) -> None:
    _stdin(monkeypatch, WARN)
    code, out, _err = validate("-")
    assert code == 0
    assert out == "-:2:13: warning NN901 param 'p' is never used (at /params/p, ends at 2:48)\n"
    _stdin(monkeypatch, BROKEN)
    code, out, _ = validate("--format", "github", "--stdin-filename", "models/m.json", "-")
    assert code == 1 and out.startswith(
        "::error file=models/m.json,line=1,endLine=1,col=60,endColumn=61,"
    )


@pytest.mark.parametrize("text", [WARN, BROKEN, "\u00e9" + WARN, "{" * 5, ""])
def test_a_text_only_stdin_reads_like_a_binary_one(
    cwd: Path, validate, monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    """A StringIO stdin (no ``.buffer``, as in a notebook) gives the same report as the
    same text's bytes, not an AttributeError."""
    _stdin(monkeypatch, text)
    binary = validate("-")
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    assert validate("-") == binary


def test_a_text_only_stdin_keeps_the_size_limit(
    cwd: Path, validate, monkeypatch: pytest.MonkeyPatch
) -> None:
    big = WARN + " " * 4000 + "\u00e9" * 100
    monkeypatch.setattr(sys, "stdin", io.StringIO(big))
    code, out, _ = validate("--max-file-bytes", "1000", "-")
    _stdin(monkeypatch, big)
    assert (code, out) == validate("--max-file-bytes", "1000", "-")[:2]
    assert code == 1 and "NN" in out


def test_stdin_resolves_weights_and_settings_beside_its_name(
    cwd: Path, validate, monkeypatch: pytest.MonkeyPatch
) -> None:
    import numpy as np

    (cwd / "models").mkdir()
    (cwd / "models" / "nnspec.toml").write_text('ignore = ["NN901"]\n', encoding="utf-8")
    np.savez(cwd / "w.npz", p=np.ones(1, dtype=np.float32))
    document = WARN.replace('"nnspec": "1",', '"nnspec": "1", "weights": "w.npz",')
    _stdin(monkeypatch, document)
    code, out, _ = validate("--stdin-filename", "models/m.json", "-")
    assert (code, out) == (
        1,
        "models/m.json:1:17: NN404 weights file 'w.npz' does not exist "
        "(at /weights, ends at 1:35)\n",
    )  # looked for beside models/m.json, not in the working folder; NN901 ignored there
    _stdin(monkeypatch, document)
    code, out, _ = validate("-")
    assert (code, out.split(": ", 1)[1][:19]) == (0, "warning NN901 param")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-", "-"], "- (standard input) can be given once"),
        (["--stdin-filename", "a.json", "a.json"], "--stdin-filename names standard input"),
    ],
)
def test_stdin_usage_errors(args: list[str], message: str, validate) -> None:
    code, _, err = validate(*args)
    assert code == 2 and message in err


def test_end_positions_cover_the_named_value(cwd: Path, validate) -> None:
    document = (
        '{"nnspec": "1",\n'
        ' "inputs": {"x": {"shape": [2]}},\n'
        ' "nodes": [\n'
        '   {"op": "dense", "units": "four"},\n'
        '   {"op": "relu",\n'
        '    "inputs": ["y"]}]}\n'
    )
    (cwd / "d.json").write_text(document, encoding="utf-8")
    _, out, _ = validate("--format", "json", "d.json")
    [problem] = json.loads(out)["files"][0]["problems"]
    # the member "units": "four", from its key's quote to just past the value
    assert (problem["line"], problem["column"]) == (4, 20)
    assert (problem["end_line"], problem["end_column"]) == (4, 35)
    (cwd / "d.json").write_text(document.replace('"four"', "4"), encoding="utf-8")
    _code, out, _ = validate("--format", "sarif", "d.json")
    [result] = json.loads(out)["runs"][0]["results"]
    region = result["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 6, "startColumn": 16, "endLine": 6, "endColumn": 19}


def test_oversized_file_reports_its_real_size(cwd: Path, validate) -> None:
    (cwd / "big.json").write_text(GOOD + " " * 100, encoding="utf-8")
    size = (cwd / "big.json").stat().st_size
    code, out, _ = validate("--max-file-bytes", "50", "big.json")
    assert code == 1 and f"NN601 the document is {size} bytes, more than the limit of 50" in out
