"""``nnspec validate`` settings: --select/--ignore/--extend-select, config files found by
walking up, a document's own "x-nnspec" ignore, --strict, --exit-zero, --output-file,
--statistics."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

# Two warnings (NN901 unused param, NN903 unused input) and nothing else.
TWO_WARNINGS = (
    '{"nnspec": "1",\n'
    ' "inputs": {"x": {"shape": [2]}, "z": {"shape": [2]}},\n'
    ' "params": {"p": {"shape": [1], "init": "ones"}},\n'
    ' "nodes": [{"op": "relu", "inputs": ["x"]}]}\n'
)
ERROR = (
    '{"nnspec": "1", "inputs": {"x": {"shape": [2]}}, "nodes": [{"op": "relu", "inputs": ["y"]}]}'
)


@pytest.fixture
def cwd(cwd: Path) -> Path:
    """The shared scratch folder, holding w.json (two warnings) and e.json (an error)."""
    (cwd / "w.json").write_text(TWO_WARNINGS, encoding="utf-8")
    (cwd / "e.json").write_text(ERROR, encoding="utf-8")
    return cwd


def _codes(out: str) -> list[str]:
    return [next(w for w in line.split() if w.startswith("NN")) for line in out.splitlines()]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], ["NN901", "NN903"]),
        (["--ignore", "NN901"], ["NN903"]),
        (["--ignore", "nn9"], []),
        (["--ignore", "NN"], []),
        (["--select", "NN903"], ["NN903"]),
        (["--select", "NN90", "--ignore", "NN903"], ["NN901"]),
        (["--ignore", "NN9", "--extend-select", "NN901"], ["NN901"]),
        (["--select", "NN901", "--extend-select", "NN903"], ["NN901", "NN903"]),
        (["--select", "NN901,NN903"], ["NN901", "NN903"]),
        (["--select", "NN901", "--select", "NN903"], ["NN901", "NN903"]),
        (["--select", "ALL", "--ignore", "NN901"], ["NN903"]),
        (["--select", "NN2"], []),  # no warning starts with NN2
    ],
)
def test_selection_on_the_command_line(
    args: list[str], expected: list[str], cwd: Path, validate
) -> None:
    code, out, err = validate(*args, "w.json")
    assert (code, sorted(_codes(out))) == (0, expected)
    assert f"(0 errors, {len(expected)} warning" in err


@pytest.mark.parametrize("args", [["--select", "NN9"], ["--ignore", "NN9"], ["--select", "NN903"]])
def test_errors_are_always_reported(args: list[str], cwd: Path, validate) -> None:
    code, out, _ = validate(*args, "e.json")
    assert (code, _codes(out)) == (1, ["NN202"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--ignore", "NN202"], "--ignore: 'NN202' names only errors, which cannot be ignored"),
        (["--ignore", "NN2"], "--ignore: 'NN2' names only errors"),
        (["--select", "NN99"], "--select: 'NN99' is no code or code prefix"),
        (["--extend-select", "NN9O1"], "'NN9O1' is no code or code prefix; did you mean 'NN901'?"),
        (["--select", "E501"], "'E501' is no code or code prefix"),
        (["--select", ","], "--select: expected a list of codes"),
        (["--statistics", "--format", "sarif"], "--statistics writes text or json"),
        (["--config", "missing.toml"], "missing.toml: cannot read: No such file or directory"),
    ],
)
def test_bad_selectors_are_usage_errors(args: list[str], message: str, cwd: Path, validate) -> None:
    code, out, err = validate(*args, "w.json")
    assert (code, out) == (2, "")
    assert message in err and "Traceback" not in err


def test_config_files_are_found_walking_up_from_each_file(cwd: Path, validate) -> None:
    (cwd / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.nnspec]\nignore = ["NN901"]\n', encoding="utf-8"
    )
    for folder, config in {
        "a/b": None,  # uses the root pyproject.toml
        "c": ("nnspec.toml", 'select = ["NN901"]\n'),
        "d": ("pyproject.toml", '[project]\nname = "d"\n'),  # no [tool.nnspec]: keep walking
        "e": ("pyproject.toml", '[tool.nnspec]\nextend-select = ["NN9"]\nignore = []\n'),
    }.items():
        (cwd / folder).mkdir(parents=True)
        (cwd / folder / "doc.json").write_text(TWO_WARNINGS, encoding="utf-8")
        if config:
            (cwd / folder / config[0]).write_text(config[1], encoding="utf-8")
    # nnspec.toml wins over pyproject.toml in one folder
    (cwd / "c" / "pyproject.toml").write_text('[tool.nnspec]\nselect = ["NN903"]\n', "utf-8")
    code, out, _ = validate("w.json", "a/b/doc.json", "c/doc.json", "d/doc.json", "e/doc.json")
    assert code == 0
    lines = [(line.split(":")[0], _codes(line)[0]) for line in out.splitlines()]
    assert lines == [
        ("w.json", "NN903"),
        ("a/b/doc.json", "NN903"),
        ("c/doc.json", "NN901"),
        ("d/doc.json", "NN903"),
        ("e/doc.json", "NN903"),
        ("e/doc.json", "NN901"),
    ]
    # the command line adds to each file's settings; --select replaces them
    code, out, _ = validate("--ignore", "NN903", "a/b/doc.json", "e/doc.json")
    assert _codes(out) == ["NN901"]
    code, out, _ = validate("--select", "NN903", "c/doc.json")
    assert _codes(out) == ["NN903"]
    # --isolated ignores every file, --config names one
    assert _codes(validate("--isolated", "a/b/doc.json")[1]) == ["NN903", "NN901"]
    assert _codes(validate("--config", "c/nnspec.toml", "w.json")[1]) == ["NN901"]


def test_strict_from_config_and_command_line(cwd: Path, validate) -> None:
    assert validate("w.json")[0] == 0
    assert validate("--strict", "w.json")[0] == 1
    (cwd / "nnspec.toml").write_text("strict = true\n", encoding="utf-8")
    assert validate("w.json")[0] == 1
    assert validate("--ignore", "NN9", "w.json")[0] == 0  # nothing left to fail on
    assert validate("--exit-zero", "w.json")[0] == 0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("selct = []\n", "unknown setting 'selct'; did you mean 'select'?"),
        ("select = [\n", "not valid TOML"),
        ("select = 3\n", "select: expected a list of codes"),
        ('ignore = ["NN103"]\n', "'NN103' names only errors"),
        ('strict = "yes"\n', "'strict' must be true or false"),
    ],
)
def test_bad_config_files_are_usage_errors(text: str, message: str, cwd: Path, validate) -> None:
    (cwd / "nnspec.toml").write_text(text, encoding="utf-8")
    code, out, err = validate("w.json")
    assert (code, out) == (2, "")
    assert err.startswith("nnspec validate: ") and "nnspec.toml" in err and message in err
    (cwd / "nnspec.toml").unlink()
    (cwd / "pyproject.toml").write_text("[tool.nnspec]\n" + text, encoding="utf-8")
    code, _, err = validate("w.json")
    assert code == 2 and message in err


@pytest.mark.parametrize("name", ["nnspec.toml", "pyproject.toml"])
@pytest.mark.parametrize(
    "data", [b"\xff\xfe", b'[tool.nnspec]\nselect = ["NN1"]\n\xe9\n', b"# \xc3"]
)
def test_config_files_that_are_not_utf8_are_usage_errors(
    name: str, data: bytes, cwd: Path, validate
) -> None:
    (cwd / name).write_bytes(data)
    code, out, err = validate("w.json")
    assert (code, out) == (2, "")
    assert err.startswith(f"nnspec validate: {name}: not valid TOML: ")
    assert "Traceback" not in err


def test_pyproject_tool_nnspec_must_be_a_table(cwd: Path, validate) -> None:
    (cwd / "pyproject.toml").write_text('tool = {nnspec = "all"}\n', encoding="utf-8")
    code, _, err = validate("w.json")
    assert code == 2 and "[tool.nnspec] must be a table" in err
    code, _, err = validate("--config", "pyproject.toml", "w.json")
    assert code == 2


def test_document_level_ignore(cwd: Path, validate) -> None:
    with_settings = TWO_WARNINGS.replace(
        '{"nnspec": "1",', '{"nnspec": "1", "x-nnspec": {"ignore": ["NN901"]},'
    )
    (cwd / "s.json").write_text(with_settings, encoding="utf-8")
    code, out, _ = validate("s.json")
    assert (code, _codes(out)) == (0, ["NN903"])
    code, out, _ = validate("--select", "NN901", "s.json")
    assert (code, out) == (0, "")  # the document's ignore wins over the command line
    for settings, why in (
        ('{"ignore": ["NN202"]}', "'NN202' names only errors"),
        ('{"ignore": "NN9O1"}', "'NN9O1' is no code or code prefix; did you mean 'NN901'?"),
        ('{"ignore": [1]}', "expected a list of codes"),
        ('{"select": ["NN901"]}', 'expected "x-nnspec": {"ignore": ["NN902", ...]}'),
        ('["NN901"]', 'expected "x-nnspec": {"ignore": ["NN902", ...]}'),
    ):
        text = TWO_WARNINGS.replace('{"nnspec": "1",', f'{{"nnspec": "1", "x-nnspec": {settings},')
        (cwd / "s.json").write_text(text, encoding="utf-8")
        code, out, _ = validate("s.json")
        assert code == 0
        assert sorted(_codes(out)) == ["NN901", "NN903", "NN904"], out
        assert out.startswith("s.json:1:17: warning NN904 ") and why in out, out


def test_output_file(cwd: Path, validate) -> None:
    code, out, err = validate("--format", "json", "--output-file", "report.json", "e.json")
    assert (code, out) == (1, "")
    assert err.startswith("1 file checked")
    report = json.loads((cwd / "report.json").read_text(encoding="utf-8"))
    assert report["files"][0]["problems"][0]["code"] == "NN202"
    code, _, err = validate("-o", "e.json", "e.json")
    assert code == 2 and "e.json is the same file as the input e.json; refusing" in err
    assert (cwd / "e.json").read_text(encoding="utf-8") == ERROR  # untouched
    (cwd / "alias.json").symlink_to(cwd / "e.json")
    assert validate("-o", "alias.json", "e.json")[0] == 2
    assert validate("-o", "report.json", ".")[0] == 2  # the walk reads report.json too


def test_statistics(cwd: Path, validate) -> None:
    for name in ("w2.json", "w3.json"):
        (cwd / name).write_text(TWO_WARNINGS.replace(', "z": {"shape": [2]}', ""), "utf-8")
    code, out, _ = validate("--statistics", "w.json", "w2.json", "w3.json", "e.json")
    assert code == 1
    assert out == (
        "3 NN901 param is never used\n"
        "1 NN202 reference to an unknown name\n"
        "1 NN903 input is never used\n"
    )
    code, out, _ = validate("--statistics", "--format", "json", "w.json")
    assert json.loads(out) == [
        {"code": "NN901", "title": "param is never used", "severity": "warning", "count": 1},
        {"code": "NN903", "title": "input is never used", "severity": "warning", "count": 1},
    ]
    code, out, _ = validate("--statistics", "--ignore", "NN9", "w.json")
    assert (code, out) == (0, "")


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _device(path: Path) -> None:
    path.symlink_to(os.devnull)


def _folder(path: Path) -> None:
    path.mkdir()


def _broken_link(path: Path) -> None:
    path.symlink_to(path.with_name("missing.toml"))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs")
@pytest.mark.parametrize("name", ["nnspec.toml", "pyproject.toml"])
@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (_fifo, "is a FIFO"),
        (_device, "is a character device"),
        (_folder, "is a folder"),
        (_broken_link, "No such file or directory"),
    ],
)
def test_a_config_name_that_is_no_regular_file_is_a_usage_error_not_a_hang(
    name: str, make, reason: str, cwd: Path, validate
) -> None:
    make(cwd / name)
    code, out, err = validate("w.json")  # a FIFO without a writer would block here
    assert (code, out) == (2, "")
    assert err.startswith(f"nnspec validate: {name}: cannot read: ")
    assert reason in err and "Traceback" not in err
