"""Ctrl-C at any moment, and SIGTERM, end a command with "interrupted" and exit 130:
never a traceback, never half a file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nnspec.datasets import make, save_arrays

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX signals")


# What the `nnspec` console script does, saying "ready" once Python has started and
# the entry point's module (which imports only `sys`) is loaded. The delays below
# count from there, so they cover all of nnspec's start-up: every other import
# happens inside main(), where Ctrl-C is handled. (Before that point the interpreter
# itself is starting, which no program can guard.)
_LAUNCH = (
    "import sys; from nnspec.cli.main import main; print('ready', flush=True); "
    "sys.exit(main(sys.argv[1:]))"
)


def _start(args: list[str], folder: Path) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-c", _LAUNCH, *args],
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline() == "ready\n"
    return process


@pytest.fixture
def work(tmp_path: Path) -> Path:
    doc = json.loads((EXAMPLES / "xor.json").read_text())
    doc["training"]["epochs"] = 100_000  # long enough to be interrupted
    (tmp_path / "long.json").write_text(json.dumps(doc))
    data = make("xor", 64, seed=0)
    save_arrays(tmp_path / "xor.npz", {"x": data.x, "y": data.y})
    return tmp_path


TRAIN = ["train", "long.json", "-d", "xor.npz", "-o", "out.json", "-q"]


@pytest.mark.parametrize("delay", [0.0, 0.002, 0.01, 0.03, 0.1, 0.3, 0.6])
def test_ctrl_c_at_any_moment_of_a_run_is_exit_130_without_traceback(work, delay):
    process = _start(TRAIN, work)
    time.sleep(delay)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err
    leftovers = [p.name for p in work.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []
    if (work / "out.json").exists():  # written only whole
        json.loads((work / "out.json").read_text())


def test_sigterm_during_train_ends_like_ctrl_c_and_keeps_the_last_epoch(work):
    process = _start([*TRAIN, "--history", "h.json"], work)
    time.sleep(2.0)  # into the training loop on most machines; earlier must work too
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err
    if "wrote out.json" in err:
        reloaded = json.loads((work / "out.json").read_text())
        assert reloaded["name"] == "xor"
        assert json.loads((work / "h.json").read_text())["stopped"] == "interrupted"


def test_ctrl_c_in_a_compiled_module_is_exit_130_without_traceback(work):
    module = work / "model.py"
    done = subprocess.run(
        [sys.executable, "-m", "nnspec", "compile", "long.json", "-o", str(module), "--train"],
        capture_output=True,
        cwd=work,
        check=True,
    )
    assert done.returncode == 0
    # Run the module as `python model.py` would, once NumPy (its one import, at its top,
    # before any handler can exist) is loaded; the delay then counts from its own code.
    launch = (
        "import runpy, sys; import numpy; print('ready', flush=True); "
        "sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", launch, str(module), "--train", "xor.npz", "-o", "w.npz"],
        cwd=work,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline() == "ready\n"
    time.sleep(1.0)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert err.strip().splitlines()[-1] == "interrupted" and "Traceback" not in err
    assert not (work / "w.npz").exists()
