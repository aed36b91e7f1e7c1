"""A document is data: hostile strings and ids cannot inject code into a compiled module.

Hypothesis puts quotes, triple quotes, backslashes, newlines, ``\\r``, Unicode line
separators, NUL and very long text into the name, description and ``x-`` metadata,
and valid-but-awkward ids (keywords, builtins, every name a compiled module binds,
``inf`` and ``nan``) on inputs, params and nodes, and extreme attribute values. The
module must parse, keep the strings as exact data, use only names and calls on the
allow-list below, and compute what the interpreter computes, returning fresh arrays.
"""

from __future__ import annotations

import ast
import builtins
import dataclasses
import functools
import json
import re

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import nnspec
from nnspec.codegen import compile, load_source
from nnspec.codegen.names import RESERVED
from nnspec.interpreter import Model
from nnspec.ir import freeze
from nnspec.spec.schema import NAME_PATTERN

NASTY = [
    "'",
    '"',
    "'''",
    '"""',
    "\\",
    "\n",
    "\r",
    "\r\n",
    "\u2028",
    "\u2029",
    "\x00",
    "\x85",
    "\x0c",
    "#",
    "{{",
    "{%",
    "}}",
    "\\n",
    "\\'",
    "');import os;os.system('x')#",
    '"""\nimport os\n"""',
    "\U0001f600",
    "x" * 5000,
]
hostile_text = st.lists(
    st.one_of(st.sampled_from(NASTY), st.text(st.characters(exclude_categories=["Cs"]))),
    max_size=5,
).map("".join)
AWKWARD_IDS = [
    "np",
    "predict",
    "run",
    "None",
    "class",
    "lambda",
    "import",
    "dims",
    "INPUTS",
    "sys",
    "_check",
    "__import__",
    "eval",
    "exec",
    "os",
    "_array",
    "self_test",
    "v",
    "v_2",
    "e",
    "NAME",
    "_t",
    "main",
    "base64",
    "x" * 128,
    "a.b-c",
    "a_b_c",
    "A-B.C",
]
SAMPLE = {
    "nnspec": "1",
    "inputs": {"q": {"shape": ["batch", 2]}},
    "params": {"r": {"shape": [2, 3], "init": "normal"}},
    "nodes": [{"id": "s", "op": "matmul", "inputs": ["q", "r"]}],
    "training": {"target": {"name": "u", "shape": ["batch", 3]}, "loss": "mse"},
}


@functools.cache
def module_names(scope: str = "all") -> list[str]:
    """Names a compiled module (with --train) binds itself, except the sample's own:
    all of them, or (``"shared"``) those in the scopes document identifiers live in
    (the module's top level, predict and _forward_backward)."""
    tree = ast.parse(compile(nnspec.load(SAMPLE), train=True))
    own = {"q", "r", "R", "s", "u", "d_s", "d_R", "loss", "d_loss"}
    if scope == "shared":
        found = {
            target.id
            for node in tree.body
            for target in (node.targets if isinstance(node, ast.Assign) else [])
            if isinstance(target, ast.Name)
        }
        found |= {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
        for function in tree.body:
            if isinstance(function, ast.FunctionDef) and function.name in (
                "predict",
                "_forward_backward",
            ):
                found |= defined_names(ast.Module(body=function.body, type_ignores=[]))
    else:
        found = defined_names(tree)
    return sorted(n for n in found - own if re.fullmatch(NAME_PATTERN, n))


ALL_IDS = [*AWKWARD_IDS, "inf", "nan", "Infinity", "NaN", "weights_file", "weights_sha256"]
EXTREME = [3.4e38, 5e-324, -0.0, 0.0, 1e-45, 0.1, 1e30, 3.4028234663852886e38]

# the standard library the module's command line needs (safe reads, atomic writes, CSV)
_STDLIB = {"argparse", "base64", "contextlib", "hashlib", "io", "math", "os", "stat", "sys"}
_STDLIB |= {"_thread"}  # an interrupt Python swallowed is delivered again from a thread
_STDLIB |= {"csv", "re"}
# predict's workspace (per thread) and BLAS thread choice (sampled once a second), and
# threadpoolctl, imported only when present and only to set BLAS thread counts:
_THREADS = {"threading", "time"}
ALLOWED_IMPORTS = _STDLIB | _THREADS | {"zipfile", "numpy", "threadpoolctl"}
MODULES = _STDLIB | _THREADS | {"zipfile", "np", "threadpoolctl"}
BUILTINS = {"print", "len", "isinstance", "zip", "enumerate", "int", "float", "max", "open"}
BUILTINS |= {"str", "ValueError", "OSError", "__name__", "__file__", "__doc__"}
# --train adds these (the optimizer, fit's batches, _unbroadcast):
BUILTINS |= {"dict", "set", "next", "iter", "min", "range", "slice", "tuple", "FloatingPointError"}
# predict's fast input check (`type(x) is np.ndarray`):
BUILTINS |= {"type"}
# the thread choice (`threads=`: a whole number, not a bool):
BUILTINS |= {"bool", "IndexError", "AttributeError"}
# the command line (main and its file helpers):
BUILTINS |= {"any", "getattr", "list", "EOFError", "KeyboardInterrupt", "FileNotFoundError"}
BUILTINS |= {"BaseException", "UnicodeDecodeError"}
# fit's validation split (round, as nnspec.train rounds) and its FitHistory (a list):
BUILTINS |= {"round", "list", "bool"}
# the Python floor and weights file checks at import, a closed pipe:
BUILTINS |= {"ImportError", "BrokenPipeError"}
# fit's argument checks, Ctrl-C while the imports run:
BUILTINS |= {"TypeError", "SystemExit", "issubclass", "bool"}
# strict CSV input, new output files:
BUILTINS |= {"all", "UnicodeDecodeError", "FileExistsError"}
# a CSV cell's control character, named by its code point (U+0000):
BUILTINS |= {"ord"}
CALLS = BUILTINS | {"predict", "run", "main", "self_test", "fit", "save_weights", "init_state"}
CALLS |= {"FitHistory"}  # what fit() returns
# ... and the module's _helpers


@st.composite
def hostile_documents(draw: st.DrawFn) -> dict:
    names = draw(st.lists(ids(), min_size=6, max_size=6, unique_by=str.lower))
    x, w, h, g, y, t = names
    alpha = draw(st.one_of(st.sampled_from(EXTREME), st.floats(0, 3.4e38)))
    outputs = [h, y, *([x] if draw(st.booleans()) else [])]
    return {
        "nnspec": "1",
        "name": draw(hostile_text),
        "description": draw(hostile_text),
        **{f"x-{k}": draw(hostile_text) for k in draw(st.lists(hostile_text, max_size=2))},
        "inputs": {x: {"shape": ["batch", 2]}},
        "params": {w: {"shape": [2, 3], "init": "normal"}},
        "nodes": [
            {"id": h, "op": "matmul", "inputs": [x, w]},
            {"id": g, "op": "leaky_relu", "alpha": alpha, "inputs": [h]},
            {"id": y, "op": "tanh", "inputs": [g]},
        ],
        "outputs": outputs,
        "training": {"target": {"name": t, "shape": ["batch", 3]}, "loss": "mse", "output": y},
    }


@functools.cache
def ids() -> st.SearchStrategy[str]:
    names = [*ALL_IDS, *module_names()]
    return st.one_of(st.sampled_from(names), st.from_regex(NAME_PATTERN, fullmatch=True))


def defined_names(tree: ast.Module) -> set[str]:
    """Names the module binds itself: assignments, functions, classes, arguments, loop targets."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
    return names


def assert_only_intended_code(source: str) -> None:
    tree = ast.parse(source)
    defined = defined_names(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            assert isinstance(node, ast.Import)
            assert {a.name for a in node.names} <= ALLOWED_IMPORTS
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            assert node.id in defined | MODULES | BUILTINS, node.id
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id in CALLS or node.func.id.startswith("_"), node.func.id
        elif isinstance(node, ast.Call):
            assert isinstance(node.func, ast.Attribute), ast.dump(node.func)
        elif isinstance(node, ast.Attribute):
            assert not node.attr.startswith("__"), node.attr
        assert not isinstance(node, ast.Lambda | ast.Global | ast.Nonlocal | ast.Delete)
    for name in defined:
        assert name.isidentifier() and name.isascii()
        assert not hasattr(builtins, name) or name in ("dims",), name


@given(hostile_documents(), st.booleans())
def test_hostile_documents_compile_to_intended_code_only(doc: dict, train: bool) -> None:
    graph = nnspec.load(doc)
    source = compile(graph, train=train)
    assert source.isascii()
    assert_only_intended_code(source)
    module = load_source(source)
    strings = (module.NAME, module.DESCRIPTION, module.METADATA)
    meta = {
        k: json.dumps(v, sort_keys=True, ensure_ascii=False)
        for k, v in doc.items()
        if k[:2] == "x-"
    }
    assert strings == (doc["name"], doc["description"], meta)
    assert list(module.INPUTS) == list(doc["inputs"])
    x = np.linspace(-2, 2, 4, dtype=np.float32).reshape(2, 2)
    with np.errstate(over="ignore", invalid="ignore"):  # alpha·x may overflow float32
        out = module.predict(x)
        assert module.self_test()
        want = Model(graph).run({next(iter(doc["inputs"])): x})
    assert list(out) == doc["outputs"]
    for name, value in out.items():
        np.testing.assert_array_equal(value, want[name])
        assert not np.shares_memory(value, x), name  # an input output is a fresh copy
    if train:
        assert list(module.PARAMS) == list(doc["params"])
        target = doc["training"]["target"]["name"]
        batch = {next(iter(doc["inputs"])): x, target: np.ones((2, 3))}
        with np.errstate(over="ignore", invalid="ignore"):
            loss, grads = module.loss_and_gradients(batch)
            want_loss, want_grads = Model(graph).gradients(batch)
        np.testing.assert_array_equal(loss, want_loss)
        assert list(grads) == list(doc["params"]) == list(want_grads)
        for name, grad in grads.items():
            np.testing.assert_array_equal(grad, want_grads[name])


def test_every_name_a_module_binds_is_reserved() -> None:
    """A document name equal to a template's name would shadow it (Namer avoids
    RESERVED, and never makes a name starting with '_')."""
    shared = module_names("shared")
    missing = [n for n in shared if not n.startswith("_") and n not in RESERVED]
    assert missing == []


@given(st.sampled_from(["inf", "nan", "Infinity", "float", "e"]), st.sampled_from(EXTREME))
def test_non_finite_constants_cannot_be_captured(input_name: str, finite: float) -> None:
    """A Python-built graph may hold inf or NaN attributes (documents cannot: NN008)."""
    doc = {
        "nnspec": "1",
        "inputs": {input_name: {"shape": ["batch", 2]}},
        "nodes": [{"id": "h", "op": "leaky_relu", "alpha": finite, "inputs": [input_name]}],
    }
    graph = nnspec.load(doc)
    x = np.array([[-1.0, 2.0], [3.0, -4.0]], np.float32)
    for alpha in (float("inf"), -float("inf"), float("nan"), finite):
        node = dataclasses.replace(graph.nodes[0], attrs=freeze({"alpha": alpha}))
        hand_built = dataclasses.replace(graph, nodes=(node,))
        source = compile(hand_built, self_test=False)
        assert_only_intended_code(source)
        with np.errstate(all="ignore"):
            got = load_source(source).predict(x)
            want = Model(hand_built).run({input_name: x})["h"]
        np.testing.assert_array_equal(got, want)


def test_outputs_that_are_inputs_or_constants_are_fresh() -> None:
    doc = {
        "nnspec": "1",
        "inputs": {"x": {"shape": ["batch", 2]}},
        "params": {"c": {"value": [1.0, 2.0], "trainable": False}},
        "nodes": [
            {"id": "h", "op": "neg", "inputs": ["c"]},
            {"id": "k", "op": "add", "inputs": ["x", "h"]},
        ],
        "outputs": ["k", "x", "h"],
    }
    module = load_source(compile(nnspec.load(doc)))
    x = np.ones((2, 2), np.float32)
    first = module.predict(x)
    assert first["x"] is not x and not np.shares_memory(first["x"], x)
    first["h"][...] = 99  # a caller writing into an output cannot change the module
    np.testing.assert_array_equal(module.predict(x)["h"], [-1.0, -2.0])
