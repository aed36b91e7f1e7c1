"""Every command keeps the user's files safe: no output onto an input, nothing written
by a failing command, devices and FIFOs written through or refused (never replaced),
non-regular inputs refused at once, and exact messages for each case."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest

from nnspec.cli.main import main
from nnspec.fileio import write_npz

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def work(xor_folder: Path) -> Path:
    """The xor folder (conftest) and a history file h.json."""
    (xor_folder / "h.json").write_text('{"epochs": 1, "stopped": null, "history": []}\n')
    return xor_folder


def snapshot(folder: Path) -> dict[str, str]:
    """Every entry under `folder` -> its kind and content hash (or link target)."""
    state = {}
    for path in sorted(folder.rglob("*")):
        if path.is_symlink():
            state[str(path)] = "link " + os.readlink(path)
        elif path.is_file():
            state[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            state[str(path)] = stat.filemode(path.lstat().st_mode)
    return state


def cli(*args: object) -> int:
    return main([str(a) for a in args])


# ----------------------------------------------------------------- outputs onto inputs

CLASHES = [
    (["run", "xor.json", "-i", "x.npy", "-o", "x.npy"], "x.npy is the same file as the input"),
    (["run", "xor.json", "-i", "xor.npz", "-o", "xor.npz"], "xor.npz is the same file as"),
    (["compile", "xor.json", "-o", "xor.json"], "xor.json is the same file as the input xor.json"),
    (["graph", "xor.json", "-o", "link.dot"], "link.dot is the same file as the input xor.json"),
    (["train", "xor.json", "-d", "xor.npz", "-o", "xor.npz"], "xor.npz is the same file as the"),
    (["train", "xor.json", "-d", "xor.npz", "-o", "o.json", "--history", "xor.json"], "the input"),
    (["train", "xor.json", "-d", "xor.npz", "-o", "o.json", "--history", "o.json"], "also given"),
    (["train", "xor.json", "-d", "xor.npz", "-o", "hard.json"], "the input document"),
    (["plot", "history", "h.json", "-o", "h.png"], None),  # no clash: the control case
]


@pytest.mark.parametrize("args, message", CLASHES)
def test_no_command_writes_onto_a_file_it_reads(work, capsys, args, message):
    (work / "link.dot").symlink_to("xor.json")
    os.link(work / "xor.json", work / "hard.json")
    before = snapshot(work)
    code = cli(*args)
    err = capsys.readouterr().err
    if message is None:
        assert "same file" not in err
        return
    assert code == 2, err
    assert message in err and "refusing to overwrite it" in err
    assert "Traceback" not in err
    assert snapshot(work) == before


def test_compile_refuses_to_overwrite_the_documents_own_weights_file(work, capsys):
    doc = json.loads((work / "xor.json").read_text())
    doc["weights"] = "model.weights.npz"
    params = {"hidden.W": np.ones((2, 8)), "hidden.b": np.zeros(8)}
    params |= {"prob.W": np.ones((8, 1)), "prob.b": np.zeros(1)}
    # float64 arrays: not the bytes compile writes (float32), so keeping the file as it
    # is (tests/cli/test_weights_layout.py) is no way out; it must be refused.
    with open(work / "model.weights.npz", "wb") as handle:
        write_npz(handle, params)
    (work / "model.json").write_text(json.dumps(doc))
    before = snapshot(work)
    assert cli("compile", "model.json", "-o", "model.py", "--weights-file") == 2
    err = capsys.readouterr().err
    assert err == (
        "nnspec compile: model.weights.npz is the same file as the input "
        "model.weights.npz; refusing to overwrite it (write another file)\n"
    )
    assert snapshot(work) == before
    assert cli("compile", "model.json", "-o", "other.py", "--weights-file") == 0


def test_train_in_place_may_replace_the_document_only(work, capsys):
    assert cli("train", "xor.json", "-d", "xor.npz", "--in-place", "--epochs", "2", "-q") == 0
    assert "value" in (work / "xor.json").read_text()
    assert cli("train", "xor.json", "-d", "xor.npz", "--in-place", "--history", "xor.json") == 2
    assert "xor.json is also given as output xor.json" in capsys.readouterr().err


def test_a_diverging_in_place_training_leaves_the_document_as_it_was(work, capsys):
    doc = json.loads((work / "xor.json").read_text())
    doc["training"]["optimizer"]["learning_rate"] = 1e38
    (work / "xor.json").write_text(json.dumps(doc))
    before = snapshot(work)
    code = cli("train", "xor.json", "-d", "xor.npz", "--in-place", "-q")
    err = capsys.readouterr().err
    assert code == 1 and "xor.json was not written" in err, err
    assert snapshot(work) == before


def test_a_missing_output_folder_is_refused_before_training(work, capsys):
    assert cli("train", "xor.json", "-d", "xor.npz", "-o", "nowhere/o.json") == 2
    err = capsys.readouterr().err
    assert err.startswith("nnspec train: nowhere/o.json: the folder ") and "does not exist" in err


def test_an_output_that_is_a_folder_is_refused(work, capsys):
    (work / "out.py").mkdir()
    assert cli("compile", "xor.json", "-o", "out.py") == 2
    assert capsys.readouterr().err == (
        "nnspec compile: out.py is a folder; give the path of a file to write\n"
    )


# ----------------------------------------------------------------- devices and FIFOs


@pytest.mark.parametrize(
    "args",
    [["compile", "xor.json", "-o", "/dev/null"], ["schema", "-o", "/dev/null"]],
)
def test_a_device_output_is_written_through_and_stays_a_device(work, args):
    assert cli(*args) == 0
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_a_full_device_is_a_clear_error(work, capsys):
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full here")
    assert cli("schema", "-o", "/dev/full") == 2
    assert capsys.readouterr().err == "nnspec schema: /dev/full: No space left on device\n"
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)


def test_a_fifo_output_without_a_reader_is_refused_not_waited_on(work, capsys):
    os.mkfifo(work / "pipe.py")
    assert cli("compile", "xor.json", "-o", "pipe.py") == 2
    assert capsys.readouterr().err == (
        "nnspec compile: pipe.py: is a FIFO that nobody reads; start the reader first\n"
    )
    assert stat.S_ISFIFO(os.stat(work / "pipe.py").st_mode)


def test_a_fifo_output_with_a_reader_gets_the_whole_text(work, capsys):
    os.mkfifo(work / "pipe.json")
    received: list[bytes] = []

    def read() -> None:
        with open(work / "pipe.json", "rb") as handle:
            received.append(handle.read())

    reader = threading.Thread(target=read)
    reader.start()
    while not received and reader.is_alive():
        if cli("schema", "-o", "pipe.json") == 0:
            break
    reader.join(10)
    assert json.loads(received[0])["title"].startswith("nnspec document")
    assert stat.S_ISFIFO(os.stat(work / "pipe.json").st_mode)


@pytest.mark.parametrize(
    "args, shown",
    [
        (["validate", "pipe.json"], "pipe.json: NN010 cannot read the file: it is a FIFO"),
        (["summary", "pipe.json"], "nnspec summary: cannot read pipe.json: is a FIFO"),
        (["run", "xor.json", "-i", "pipe.npy", "-o", "o.npy"], "pipe.npy: is a FIFO"),
        (["train", "xor.json", "-d", "pipe.csv", "-o", "o.json"], "pipe.csv: is a FIFO"),
        (["summary", "/dev/zero"], "cannot read /dev/zero: is a character device"),
        (["summary", "."], "cannot read .: is a folder"),
    ],
)
def test_inputs_that_are_not_regular_files_are_refused_at_once(work, capsys, args, shown):
    for name in ("pipe.json", "pipe.npy", "pipe.csv"):
        os.mkfifo(work / name)
    assert cli(*args) == 2
    captured = capsys.readouterr()
    err = captured.out + captured.err  # validate reports unreadable files in-band
    assert shown in err and "Traceback" not in err


# ----------------------------------------------------------------- weights files

WEIGHTS_DOC = {
    "nnspec": "1",
    "inputs": {"x": {"shape": ["batch", 2]}},
    "params": {"W": {"shape": [2, 1]}},
    "weights": "w.npz",
    "nodes": [{"op": "matmul", "inputs": ["x", "W"]}],
}


def _member(info_name: str, header_shape: tuple, payload: bytes, dtype: str = "<f4") -> bytes:
    import io

    buffer = io.BytesIO()
    header = {"descr": dtype, "fortran_order": False, "shape": header_shape}
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue() + payload


def _archive(path: Path, members: dict[str, bytes], deflate: bool = False) -> None:
    mode = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "w", mode) as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def _validate(work: Path, capsys) -> tuple[int, str]:
    (work / "m.json").write_text(json.dumps(WEIGHTS_DOC))
    code = cli("validate", "m.json")
    return code, capsys.readouterr().out


@pytest.mark.parametrize(
    "members, deflate, message",
    [
        ({"W.npy": _member("W", (2**40,), b"")}, False, "'W' has shape [1099511627776]"),
        ({"W.npy": _member("W", (2, 1), b"\0" * 3)}, False, "header promises 8 bytes"),
        ({"W.npy": _member("W", (2**20, 2**10), b"\0" * 2**22)}, True, "has shape [1048576, 1024]"),
        ({"W.npy": _member("W", (2, 1), b"", "|O")}, False, "holds pickled objects"),
        ({"W.npy": b"just text"}, False, "not a NumPy array"),
        ({"notes.txt": b"hello"}, False, "'notes.txt' is not a .npy array"),
        (
            {"W.npy": _member("W", (2, 1), b"\0" * 8), "V.npy": _member("V", (1,), b"\0" * 4)},
            False,
            "has 'V', which is not a param",
        ),
        ({"W.npy": _member("W", (2, 1), b"\0" * 16, "<c8")}, False, "is not numeric"),
    ],
)
def test_weights_headers_are_checked_before_anything_is_read(
    work, capsys, members, deflate, message
):
    _archive(work / "w.npz", members, deflate)
    code, out = _validate(work, capsys)
    assert code == 1 and message in out, out
    assert "Traceback" not in out


def test_a_zip_bomb_of_the_right_name_costs_no_memory(work, capsys):
    import tracemalloc

    # 64 MB of zeros deflate to about 64 kB; the header's shape does not fit the param.
    _archive(work / "w.npz", {"W.npy": _member("W", (2**24,), b"\0" * 2**26)}, deflate=True)
    tracemalloc.start()
    code, out = _validate(work, capsys)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert code == 1 and "'W' has shape [16777216], the param needs [2, 1]" in out
    assert peak < 16 * 2**20


@pytest.mark.parametrize(
    "path, code",
    [
        ("w\u0000.npz", "NN403"),
        ("/etc/passwd", "NN403"),
        ("../w.npz", "NN403"),
        ("w\udc80.npz", "NN009"),  # lone surrogates are refused by the parser already
    ],
)
def test_weights_paths_that_are_no_file_beside_the_document_are_refused(work, capsys, path, code):
    (work / "m.json").write_text(json.dumps({**WEIGHTS_DOC, "weights": path}))
    assert cli("validate", "m.json") == 1
    out = capsys.readouterr().out
    assert f" {code} " in out and "Traceback" not in out
    assert code != "NN403" or "outside the document's folder" in out


def test_resolve_inside_refuses_paths_no_file_can_have(tmp_path):
    from nnspec.spec.weights import resolve_inside

    assert resolve_inside("w\u0000.npz", tmp_path) is None
    assert resolve_inside("w\udc80.npz", tmp_path) is None
    assert resolve_inside("w.npz", tmp_path) == tmp_path.resolve() / "w.npz"


def test_a_weights_fifo_is_nn404_without_waiting(work, capsys):
    os.mkfifo(work / "w.npz")
    code, out = _validate(work, capsys)
    assert code == 1 and "NN404 weights file 'w.npz' cannot be read: is a FIFO" in out


# ----------------------------------------------------------------- data headers


def _npy_header_only(path: Path, shape: tuple) -> None:
    with open(path, "wb") as handle:
        header = {"descr": "<f4", "fortran_order": False, "shape": shape}
        np.lib.format.write_array_header_1_0(handle, header)


@pytest.mark.parametrize(
    "shape, message",
    [
        ((2**40, 2), "the array has 2,199,023,255,552 elements, more than the limit"),
        ((2**20, 2), "the header promises 8,388,608 bytes of data, but the file holds fewer"),
    ],
)
def test_npy_headers_of_run_inputs_are_checked_first(work, capsys, shape, message):
    _npy_header_only(work / "big.npy", shape)
    assert cli("run", "xor.json", "-i", "big.npy", "-o", "o.npy") == 2
    err = capsys.readouterr().err
    assert message in err and not (work / "o.npy").exists()


# ----------------------------------------------------------------- numeric options

BAD_OPTIONS = [
    (["train", "xor.json", "-d", "xor.npz", "-o", "o.json", "--seed=-1"], "--seed"),
    (["train", "xor.json", "-d", "xor.npz", "-o", "o.json", "--seed", "4294967296"], "--seed"),
    (["train", "xor.json", "-d", "xor.npz", "-o", "o.json", "--epochs", "1e3"], "--epochs"),
    (["train", "xor.json", "-d", "xor.npz", "-o", "o.json", "--batch-size", "0"], "--batch-size"),
    (["train", "xor.json", "-d", "xor.npz", "-o", "o.json", "--lr", "nan"], "--lr"),
    (["train", "xor.json", "-d", "xor.npz", "-o", "o.json", "--lr", "-0.1"], "--lr"),
    (["train", "xor.json", "-d", "xor.npz", "-o", "o.json", "--lr", "inf"], "--lr"),
    (["check", "xor.json", "--batch", "0"], "--batch"),
    (["check", "xor.json", "--batch", "1000000"], "--batch"),
    (["check", "xor.json", "--seed", "-5"], "--seed"),
    (["data", "xor", "-o", "d.npz", "--n", "1e12"], "--n"),
    (["data", "xor", "-o", "d.npz", "--n", "100000000000"], "--n"),
    (["data", "xor", "-o", "d.npz", "--n", "0"], "--n"),
    (["data", "xor", "-o", "d.npz", "--noise", "-1"], "--noise"),
    (["data", "xor", "-o", "d.npz", "--noise", "nan"], "--noise"),
    (["data", "xor", "-o", "d.npz", "--seed", "x"], "--seed"),
    (["demo", "--epochs", "0"], "--epochs"),
    (["demo", "--seed", "-1"], "--seed"),
    (["validate", "xor.json", "--max-nodes", "0"], "--max-nodes"),
]


@pytest.mark.parametrize("args, option", BAD_OPTIONS)
def test_every_numeric_option_is_checked_before_anything_runs(work, capsys, args, option):
    before = snapshot(work)
    with pytest.raises(SystemExit) as caught:
        cli(*args)
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: nnspec ") and f"error: argument {option}" in err
    assert snapshot(work) == before


def test_option_messages_say_what_is_allowed(work, capsys):
    with pytest.raises(SystemExit):
        cli("data", "xor", "-o", "d.npz", "--n", "0")
    assert capsys.readouterr().err.splitlines()[-1] == (
        "nnspec data: error: argument --n: must be at least 1 and at most 10,000,000, got 0"
    )
    with pytest.raises(SystemExit):
        cli("train", "xor.json", "-d", "xor.npz", "-o", "o.json", "--lr", "0")
    assert capsys.readouterr().err.splitlines()[-1] == (
        "nnspec train: error: argument --lr: must be a finite number above 0, got 0"
    )


# ----------------------------------------------------------------- globs


def test_validate_walks_a_glob_through_symlink_loops_once(work, capsys):
    (work / "m" / "deep").mkdir(parents=True)
    (work / "m" / "deep" / "xor.json").write_text((work / "xor.json").read_text())
    (work / "m" / "deep" / "loop").symlink_to("..")
    (work / "m" / "again").symlink_to("deep")
    assert cli("validate", "m/**/*.json") == 0
    captured = capsys.readouterr()
    assert captured.err.count("1 file") == 1 and "valid" in captured.err, captured.err


@pytest.mark.parametrize(
    "args",
    [
        ["compile", "xor.json", "-o", ""],
        ["summary", ""],
        ["run", "xor.json", "-i", "", "-o", "o.npy"],
    ],
)
def test_an_empty_argument_is_a_usage_error(work, capsys, args):
    with pytest.raises(SystemExit) as caught:
        cli(*args)
    assert caught.value.code == 2
    assert "an empty value; give a file, name or number" in capsys.readouterr().err
