"""``nnspec validate`` over many folders with bad configuration files: each bad file is
reported once, the documents it governs are left unchecked (and counted), every other
document is checked, and the exit code is 2 (a configuration error), as documented."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

WARNING = (  # NN901: an unused param
    '{"nnspec": "1", "inputs": {"x": {"shape": [2]}},\n'
    ' "params": {"p": {"shape": [1], "init": "ones"}},\n'
    ' "nodes": [{"op": "relu", "inputs": ["x"]}]}\n'
)
ERROR = '{"nnspec": "1", "inputs": {"x": {"shape": [2]}}, "nodes": [{"op": "nope"}]}\n'
NOT_NNSPEC = '{"name": "some other JSON"}\n'

BAD = {
    "unknown setting": ("nnspec.toml", "selct = []\n", "unknown setting 'selct'"),
    "broken TOML": ("nnspec.toml", "select = [\n", "not valid TOML"),
    "error codes ignored": ("nnspec.toml", 'ignore = ["NN103"]\n', "names only errors"),
    "pyproject table": ("pyproject.toml", "[tool.nnspec]\nstrict = 3\n", "'strict' must be"),
    "pyproject not a table": ("pyproject.toml", 'tool = {nnspec = "all"}\n', "must be a table"),
    "not UTF-8": ("nnspec.toml", b"\xff\xfe", "not valid TOML"),
}


def _tree(root: Path, bad: list[str], docs_per_folder: int = 2) -> None:
    """root/good/ (a document with a warning), root/<bad>/ (documents under each bad
    configuration file, one also in a subfolder), root/other/ (JSON that is no
    document, under a bad configuration file of its own)."""
    (root / "good").mkdir(parents=True)
    (root / "good" / "w.json").write_text(WARNING)
    (root / "good" / "e.json").write_text(ERROR)
    for name in bad:
        file, text, _ = BAD[name]
        folder = root / name.replace(" ", "_")
        (folder / "sub").mkdir(parents=True)
        (folder / file).write_bytes(text if isinstance(text, bytes) else text.encode())
        for k in range(docs_per_folder):
            (folder / f"d{k}.json").write_text(WARNING)
        (folder / "sub" / "deep.json").write_text(ERROR)
    (root / "other").mkdir()
    (root / "other" / "nnspec.toml").write_text("selct = 1\n")
    (root / "other" / "package.json").write_text(NOT_NNSPEC)


@pytest.mark.parametrize("name", list(BAD))
def test_one_bad_config_leaves_only_its_documents_unchecked(cwd: Path, validate, name) -> None:
    _tree(cwd / "tree", [name])
    code, out, err = validate("tree")
    assert code == 2
    lines = err.splitlines()
    assert len([line for line in lines if line.startswith("nnspec validate: ")]) == 1
    assert BAD[name][2] in lines[0] and BAD[name][0] in lines[0]
    assert lines[-1] == (
        "2 files checked: 1 valid, 1 invalid (1 error, 1 warning); "
        "1 skipped (not nnspec documents); 3 not checked (their configuration file is invalid)"
    )
    assert sorted({line.split(":")[0] for line in out.splitlines()}) == [
        "tree/good/e.json",
        "tree/good/w.json",
    ]
    assert "Traceback" not in err


def test_every_bad_config_is_reported_once_and_the_walk_goes_on(cwd: Path, validate) -> None:
    _tree(cwd / "tree", list(BAD), docs_per_folder=3)
    code, out, err = validate("tree", "--format", "json")
    assert code == 2
    reported = [line for line in err.splitlines() if line.startswith("nnspec validate: ")]
    assert len(reported) == len(BAD) == len(set(reported))
    for name, (file, _, message) in BAD.items():
        named = f"tree/{name.replace(' ', '_')}/{file}"  # from the working folder
        assert sum(f": {named}: " in line and message in line for line in reported) == 1
    assert "tree/other" not in err  # no document there: its config is not read
    files = sorted(f["file"] for f in json.loads(out)["files"])
    assert files == ["tree/good/e.json", "tree/good/w.json"]
    assert err.splitlines()[-1].endswith(
        f"; {4 * len(BAD)} not checked (their configuration file is invalid)"
    )


def test_a_nearer_good_config_wins_over_a_bad_one_above(cwd: Path, validate) -> None:
    _tree(cwd / "tree", ["broken TOML"])
    sub = cwd / "tree" / "broken_TOML" / "sub"
    (sub / "nnspec.toml").write_text('ignore = ["NN901"]\n')
    code, out, err = validate("tree")
    assert code == 2
    assert "tree/broken_TOML/sub/deep.json" in out  # checked with its own settings
    assert err.splitlines()[-1].endswith("; 2 not checked (their configuration file is invalid)")


def test_exit_zero_does_not_hide_a_bad_config(cwd: Path, validate) -> None:
    _tree(cwd / "tree", ["unknown setting"])
    assert validate("--exit-zero", "tree")[0] == 2
    assert validate("--isolated", "tree")[0] == 1  # no configuration read: only e.json fails
    code, _, err = validate("--exit-zero", "--isolated", "tree")
    assert code == 0 and "not checked" not in err


def test_named_files_under_a_bad_config_are_counted_like_walked_ones(cwd: Path, validate) -> None:
    _tree(cwd / "tree", ["error codes ignored"])
    code, out, err = validate(
        "tree/good/w.json", "tree/error_codes_ignored/d0.json", "tree/error_codes_ignored/d1.json"
    )
    assert code == 2
    assert out.splitlines()[0].startswith("tree/good/w.json:")
    assert err.count("names only errors") == 1
    assert err.splitlines()[-1].endswith("; 2 not checked (their configuration file is invalid)")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs")
def test_a_fifo_config_is_reported_once_not_waited_on(cwd: Path, validate) -> None:
    _tree(cwd / "tree", ["broken TOML"])
    fifo = cwd / "tree" / "good" / "nnspec.toml"
    os.mkfifo(fifo)
    code, out, err = validate("tree")  # blocks forever if the FIFO were opened for reading
    assert code == 2 and out == ""
    assert err.count(": tree/good/nnspec.toml: cannot read: ") == 1
    assert err.splitlines()[-1].endswith("; 5 not checked (their configuration file is invalid)")


def test_a_bad_config_is_read_once_for_all_the_documents_below_it(
    cwd: Path, validate, monkeypatch
) -> None:
    from nnspec.cli import config

    _tree(cwd / "tree", ["broken TOML"], docs_per_folder=20)
    reads: list[Path] = []
    real = config.read_config
    monkeypatch.setattr(config, "read_config", lambda path: reads.append(path) or real(path))
    assert validate("tree")[0] == 2
    bad = Path("tree/broken_TOML/nnspec.toml")  # named from the working folder
    assert reads.count(bad) == 1
    assert len(reads) == len(set(reads))
