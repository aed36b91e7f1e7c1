"""Random hostile variations of documents and command lines, through every command.

Each example builds a scratch folder holding a valid document, a randomly damaged
copy, data files, a FIFO, links and a folder, then runs one command with arguments
drawn from that command's own argparse definition (files that exist or not, FIFOs,
/dev/null, hostile numbers). Whatever happens:

- the exit code is 0, 1, 2 (or 130), and nothing escapes as an exception;
- nothing is printed as a traceback;
- no file changes that the command line did not name as an output;
- every output that exists afterwards is complete (it parses), and no temporary
  file is left behind.

``demo`` is left out (it trains for seconds and writes only to a temporary folder;
its options are covered in tests/cli/test_files.py).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import hashlib
import io
import itertools
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from nnspec.cli.main import COMMANDS, build_parser, main
from nnspec.datasets import make, save_arrays
from nnspec.testing import documents

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
COMMAND_NAMES = [name for name in COMMANDS if name != "demo"]

FILES = [
    "doc.json",
    "bad.json",
    "xor.json",
    "data.npz",
    "x.npy",
    "d.csv",
    "h.json",
    "pipe",
    "link.json",
    "hard.json",
    "folder",
    "missing.json",
    "sub/out.json",
    "out.json",
    "out.npz",
    "out.npy",
    "out.py",
    "out.csv",
    "out.dot",
    "out.mmd",
    "out.png",
    "/dev/null",
    "",
    "-",
    "doc.json\0",
    "\udc80.json",
]
NUMBERS = ["-1", "0", "1", "2", "3", "0.5", "1e12", "nan", "inf", "-inf", "99999999999", "x", ""]
HOSTILE_VALUES = [
    -1,
    0,
    1.5,
    1e308,
    -1e308,
    2**64,
    "",
    "\u0000",
    "x-",
    "../w.npz",
    "/etc/passwd",
    None,
    [],
    {},
    True,
    [1, "2"],
    {"op": "relu"},
    "w.npz",
    "batch",
    [-1, 3],
]
OUTPUT_OPTIONS = {"-o", "--output", "--out", "--history", "--plot"}


# What sits at nnspec.toml, which validate reads walking up from every file it checks:
# nothing, good or bad settings, or a name that is no regular file (never waited on).
CONFIGS = ["none", "good", "bad", "fifo", "device", "folder", "broken-link"]


def _config(folder: Path, kind: str) -> None:
    path = folder / "nnspec.toml"
    if kind == "good":
        path.write_text('select = ["ALL"]\nignore = ["NN902"]\n')
    elif kind == "bad":
        path.write_text("select = [\n")
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "device":
        path.symlink_to(os.devnull)
    elif kind == "folder":
        path.mkdir()
    elif kind == "broken-link":
        path.symlink_to("missing.toml")


def _scratch(folder: Path, document: dict, damaged: dict) -> None:
    (folder / "doc.json").write_text(json.dumps(document))
    (folder / "bad.json").write_text(json.dumps(damaged))
    (folder / "xor.json").write_text((EXAMPLES / "xor.json").read_text())
    data = make("xor", 16, seed=0)
    save_arrays(folder / "data.npz", {"x": data.x, "y": data.y})
    save_arrays(folder / "x.npy", {"x": data.x})
    save_arrays(folder / "d.csv", {"x": data.x, "y": data.y})
    (folder / "h.json").write_text('{"epochs": 1, "stopped": null, "history": []}\n')
    os.mkfifo(folder / "pipe")
    os.mkfifo(folder / "pipe.json")  # a folder walk passes over it, never waits on it
    (folder / "link.json").symlink_to("doc.json")
    os.link(folder / "doc.json", folder / "hard.json")
    (folder / "folder").mkdir()


def _state(folder: Path) -> dict[str, str]:
    state = {}
    for path in sorted(folder.rglob("*")):
        key = str(path.relative_to(folder))
        if path.is_symlink():
            state[key] = "link"
        elif path.is_file():
            state[key] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            state[key] = "dir" if path.is_dir() else "special"
    return state


@st.composite
def damaged(draw: st.DrawFn, document: dict) -> dict:
    """`document` with a few members replaced by hostile values, added or deleted."""
    doc = copy.deepcopy(document)
    for _ in range(draw(st.integers(1, 3))):
        holders: list[tuple[Any, Any]] = []
        stack: list[Any] = [doc]
        while stack:
            value = stack.pop()
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in list(items):
                holders.append((value, key))
                if isinstance(item, (dict, list)):
                    stack.append(item)
        if not holders:
            break
        holder, key = draw(st.sampled_from(holders))
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "delete" and isinstance(holder, dict):
            del holder[key]
        elif action == "add" and isinstance(holder, dict):
            holder[draw(st.sampled_from(["units", "epochs", "weights", "x-a", "axis"]))] = draw(
                st.sampled_from(HOSTILE_VALUES)
            )
        else:
            holder[key] = draw(st.sampled_from(HOSTILE_VALUES))
    return doc


def _actions(command: str) -> list[argparse.Action]:
    parser = build_parser(command)
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return [a for a in sub.choices[command]._actions if not isinstance(a, argparse._HelpAction)]


@st.composite
def command_lines(draw: st.DrawFn) -> list[str]:
    command = draw(st.sampled_from(COMMAND_NAMES))
    args = [command]
    actions = _actions(command)
    if command == "plot":  # its kinds are subcommands of their own
        kind = draw(st.sampled_from(["history", "boundary"]))
        sub = next(a for a in actions if isinstance(a, argparse._SubParsersAction))
        args.append(kind)
        actions = [a for a in sub.choices[kind]._actions if not isinstance(a, argparse._HelpAction)]
    for action in actions:
        if isinstance(action, argparse._SubParsersAction):
            continue
        values = [*map(str, action.choices)] if action.choices else FILES + NUMBERS[:4]
        if not action.option_strings:  # positional
            count = 2 if action.nargs in ("+", "*") and draw(st.booleans()) else 1
            args += [draw(st.sampled_from(values)) for _ in range(count)]
        elif draw(st.integers(0, 2)) == 0 or action.required:
            flag = draw(st.sampled_from(action.option_strings))
            if action.nargs == 0:
                args.append(flag)
            else:
                pool = values if action.choices or flag in OUTPUT_OPTIONS else FILES + NUMBERS
                args += [flag, draw(st.sampled_from(pool))]
    if command == "train":
        args += ["--epochs", "1", "--quiet"]  # training time stays bounded
    return args


def _named_outputs(args: list[str]) -> set[str]:
    """The files a command line allows to change: the values of output options, the
    weights files written beside them, and the document of ``train --in-place``."""
    named: set[str] = set()
    for flag, value in itertools.pairwise(args):
        if flag in OUTPUT_OPTIONS:
            named.add(value)
            stem = value.rsplit(".", 1)[0]
            named |= {f"{stem}.weights.npz", value + "/history.png", value + "/boundary.png"}
    if "--in-place" in args and len(args) > 1:
        document = args[1]
        named |= {document, document.rsplit(".", 1)[0] + ".weights.npz"}
        named |= {"doc.json", "hard.json"} if document in ("link.json", "hard.json") else set()
    # An output that is a link writes the file it points to (the link stays).
    named |= {os.path.relpath(os.path.realpath(n)) for n in named if n and "\0" not in n}
    return {os.path.normpath(n) for n in named if n}


# Commands whose output format follows the output's suffix (init, schema and graph
# write their own format whatever the name).
BY_SUFFIX = {"run", "train", "data", "compile"}


def _complete(path: Path) -> None:
    """An output that exists must be whole: it parses as what its name says."""
    if path.suffix == ".json":
        json.loads(path.read_text(encoding="utf-8"))
    elif path.suffix in (".npz", ".npy"):
        with contextlib.ExitStack() as stack:
            loaded = np.load(path, allow_pickle=False)
            if hasattr(loaded, "close"):
                stack.callback(loaded.close)
                [loaded[k] for k in loaded.files]
    elif path.suffix == ".py":
        compile(path.read_text(encoding="utf-8"), str(path), "exec")


@given(
    document=documents(max_nodes=4, with_loss=True),
    args=command_lines(),
    data=st.data(),
)
def test_hostile_command_lines_and_documents_end_cleanly(document, args, data) -> None:
    bad = data.draw(damaged(document))
    previous = Path.cwd()
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        _scratch(folder, document, bad)
        _config(folder, data.draw(st.sampled_from(CONFIGS)))
        before = _state(folder)
        out, err = io.StringIO(), io.StringIO()
        os.chdir(folder)
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    code = main(args)
                except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
                    code = exc.code
        finally:
            os.chdir(previous)
        assert code in (0, 1, 2, 130), (args, code, err.getvalue())
        assert "Traceback" not in err.getvalue() + out.getvalue(), args
        after = _state(folder)
        changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
        allowed = _named_outputs(args)
        assert {os.path.normpath(k) for k in changed} <= allowed, (args, changed, err.getvalue())
        assert not [k for k in after if k.endswith(".tmp")], args
        for name in changed & after.keys():
            if (folder / name).is_file() and args[0] in BY_SUFFIX:
                _complete(folder / name)
