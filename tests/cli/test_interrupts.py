"""Ctrl-C at any moment, and SIGTERM, end a command with "interrupted" and exit 130:
never a traceback, never half a file."""

from __future__ import annotations

import contextlib
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
# itself is starting, which no program can guard.) A Ctrl-C that lands in the few
# bytecodes between the print and the call is the launcher's, not nnspec's: it exits
# with HARNESS, and the test tries again.
HARNESS = 131
_LAUNCH = f"""import sys
from nnspec.cli.main import main
try:
    print('ready', flush=True); code = main(sys.argv[1:])
except KeyboardInterrupt:
    code = {HARNESS}
sys.exit(code)"""


@pytest.fixture(autouse=True)
def _ctrl_c_as_in_a_terminal():
    """SIGINT handled as in a terminal, also when the suite runs as a background job:
    such a job starts with SIGINT ignored, its children inherit that (then a Ctrl-C test
    proves nothing), while a handler set here is reset to the default in each child."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


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
    for _ in range(10):  # until the interrupt lands inside main(), not in the launcher
        process = _start(TRAIN, work)
        time.sleep(delay)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
        if process.returncode != HARNESS:
            break
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


# Python swallows a KeyboardInterrupt raised inside a destructor or a weakref callback
# (importlib runs one during every import), printing "Exception ignored in ..." with a
# traceback; the command line and compiled modules deliver it again instead.
_SWALLOWED = """
import sys, time
from nnspec.cli.main import main
import nnspec.cli.command as command

class Bomb:
    def __del__(self):
        raise KeyboardInterrupt  # as if Ctrl-C arrived while a destructor ran

def run(args):
    Bomb()
    time.sleep(30)
    return 0

command.Parser.parse_args = lambda self, a=None, n=None: type(
    "Args", (), {"_run": staticmethod(run), "command": "validate"}
)()
sys.exit(main(["validate", "x.json"]))
"""


def test_an_interrupt_swallowed_in_a_destructor_still_ends_the_command(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _SWALLOWED], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 130, done.stderr
    assert done.stderr == "nnspec: interrupted\n"


_NUMPY_INTERRUPTED = """
import runpy, sys

class Interrupting:  # Ctrl-C arriving while `import numpy` runs
    def find_spec(self, name, path=None, target=None):
        if name == "numpy":
            raise KeyboardInterrupt

sys.meta_path.insert(0, Interrupting())
runpy.run_path(sys.argv[1], run_name=sys.argv[2])
"""


@pytest.mark.parametrize("as_program", [True, False])
def test_ctrl_c_while_a_compiled_module_imports_numpy(tmp_path: Path, as_program: bool) -> None:
    from nnspec.codegen import compile

    module = tmp_path / "model.py"
    module.write_text(compile(_xor()))
    run_name = "__main__" if as_program else "model"
    done = subprocess.run(
        [sys.executable, "-c", _NUMPY_INTERRUPTED, str(module), run_name],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if as_program:  # the program ends as it would later: one line, exit 130
        assert (done.returncode, done.stderr) == (130, "interrupted\n")
    else:  # imported, the module leaves the interrupt to its importer
        assert done.returncode != 0 and "KeyboardInterrupt" in done.stderr


def test_a_compiled_module_delivers_a_swallowed_interrupt_again() -> None:
    from types import SimpleNamespace

    from nnspec.codegen import compile, load_source

    module = load_source(compile(_xor()))
    with pytest.raises(KeyboardInterrupt):
        module._redeliver(SimpleNamespace(exc_type=KeyboardInterrupt))
        time.sleep(30)  # the interrupt arrives from another thread, after the hook


def _xor():
    import nnspec

    return nnspec.load(EXAMPLES / "xor.json")


def test_ctrl_c_wrapped_by_python_during_an_import_is_still_an_interrupt(monkeypatch, capsys):
    """A Ctrl-C landing while an imported module creates a class reaches nnspec as a
    RuntimeError from __set_name__ (seen once when SIGINT hit `import platform`)."""
    from nnspec.cli import main as cli_main

    class Interrupting:
        def __set_name__(self, owner: type, name: str) -> None:
            raise KeyboardInterrupt

    def start_up(argv: list[str] | None) -> int:
        type("Late", (), {"field": Interrupting()})
        return 0

    monkeypatch.setattr(cli_main, "_main", start_up)
    assert cli_main.main(["validate"]) == 130
    assert capsys.readouterr().err == "nnspec: interrupted\n"
    assert cli_main.caused_by_interrupt(RuntimeError("x")) is False


def test_an_error_not_caused_by_ctrl_c_is_not_hidden(monkeypatch):
    from nnspec.cli import main as cli_main

    def broken(argv: list[str] | None) -> int:
        raise ZeroDivisionError

    monkeypatch.setattr(cli_main, "_main", broken)
    with pytest.raises(ZeroDivisionError):
        cli_main.main(["validate"])


def _replaced_by_c_code(argv: list[str] | None) -> int:
    """What NumPy's import did when SIGINT landed in `PyCapsule_Import("datetime")`:
    the KeyboardInterrupt is replaced, so no exception in the chain says Ctrl-C."""
    with contextlib.suppress(KeyboardInterrupt):
        signal.raise_signal(signal.SIGINT)
    raise ImportError('PyCapsule_Import could not import module "datetime"') from None


@pytest.mark.skipif(not hasattr(signal, "raise_signal"), reason="signal.raise_signal")
def test_ctrl_c_replaced_by_another_error_during_an_import_is_an_interrupt(monkeypatch, capsys):
    from nnspec.cli import main as cli_main

    monkeypatch.setattr(cli_main, "_main", _replaced_by_c_code)
    assert cli_main.main(["validate"]) == 130
    assert capsys.readouterr().err == "nnspec: interrupted\n"
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # put back
    monkeypatch.setattr(cli_main, "_main", lambda argv: _no_interrupt_import_error())
    with pytest.raises(ImportError, match="no Ctrl-C"):  # the next run is not "interrupted"
        cli_main.main(["validate"])


def _no_interrupt_import_error() -> int:
    raise ImportError("no Ctrl-C here")


def test_an_ignored_ctrl_c_stays_ignored(monkeypatch):
    """A command started with SIGINT ignored (a shell's background job) keeps it so."""
    from nnspec.cli import main as cli_main

    seen = []
    monkeypatch.setattr(
        cli_main, "_main", lambda argv: seen.append(signal.getsignal(signal.SIGINT)) or 0
    )
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        assert cli_main.main(["validate"]) == 0
        assert seen == [signal.SIG_IGN]
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)


def test_ctrl_c_that_c_code_clears_during_start_up_still_ends_the_command(
    monkeypatch, capsys, tmp_path
):
    """C code that clears any error of an optional import can make a Ctrl-C vanish
    (seen once: `nnspec train` then ran all its epochs); the noted signal ends the
    command before it runs."""
    from nnspec.cli import main as cli_main

    real = cli_main.build_parser

    def swallowing(selected: str | None = None):
        with contextlib.suppress(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)
        return real(selected)

    monkeypatch.setattr(cli_main, "build_parser", swallowing)
    monkeypatch.chdir(tmp_path)
    assert cli_main.main(["schema", "-o", "schema.json"]) == 130
    assert capsys.readouterr().err == "nnspec: interrupted\n"
    assert list(tmp_path.iterdir()) == []  # the command never ran
    monkeypatch.setattr(cli_main, "build_parser", real)
    assert cli_main.main(["schema", "-o", "schema.json"]) == 0  # the next run is not interrupted


class _InterruptedFinalizer:
    def __del__(self) -> None:
        raise KeyboardInterrupt  # Python cannot propagate it: it goes to unraisablehook


def test_ctrl_c_swallowed_before_the_handlers_are_set_still_ends_the_command(
    monkeypatch, capsys, tmp_path
):
    """A Ctrl-C that lands in a destructor or importlib's module-lock callback while
    main() sets up (seen once: `nnspec train` then ran to the end) is noted by main's
    own unraisable hook and ends the command before it runs, silently."""
    from nnspec.cli import main as cli_main

    real = cli_main._note_interrupts

    def setting_up():
        _InterruptedFinalizer()  # collected at once: its __del__ raises
        return real()

    monkeypatch.setattr(cli_main, "_note_interrupts", setting_up)
    monkeypatch.chdir(tmp_path)
    hook = sys.unraisablehook
    assert cli_main.main(["schema", "-o", "schema.json"]) == 130
    assert capsys.readouterr().err == "nnspec: interrupted\n"
    assert list(tmp_path.iterdir()) == []
    assert sys.unraisablehook is hook  # put back
