"""A document is data: hostile strings and ids cannot inject code into a compiled module.

Hypothesis puts quotes, triple quotes, backslashes, newlines, ``\\r``, Unicode line
separators, NUL and very long text into the name, description and ``x-`` metadata,
and valid-but-awkward ids (keywords, builtins, names the module defines) on inputs,
params and nodes. The module must parse, keep the strings as exact data, and its
AST must use only names and calls on the allow-list below.
"""

from __future__ import annotations

import ast
import builtins
import json

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import nnspec
from nnspec.codegen import compile, load_source
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
ids = st.one_of(st.sampled_from(AWKWARD_IDS), st.from_regex(NAME_PATTERN, fullmatch=True))

# the standard library the module's command line needs (safe reads, atomic writes)
_STDLIB = {"argparse", "base64", "contextlib", "hashlib", "io", "math", "os", "stat", "sys"}
ALLOWED_IMPORTS = _STDLIB | {"tempfile", "zipfile", "numpy"}
MODULES = _STDLIB | {"tempfile", "zipfile", "np"}
BUILTINS = {"print", "len", "isinstance", "zip", "enumerate", "int", "float", "max", "open"}
BUILTINS |= {"str", "ValueError", "OSError", "__name__", "__file__", "__doc__"}
# --train adds these (the optimizer, fit's batches, _unbroadcast):
BUILTINS |= {"dict", "set", "next", "iter", "min", "range", "slice", "tuple", "FloatingPointError"}
# predict's fast input check (`type(x) is np.ndarray`):
BUILTINS |= {"type"}
# the command line (main and its file helpers):
BUILTINS |= {"any", "getattr", "list", "EOFError", "KeyboardInterrupt", "FileNotFoundError"}
BUILTINS |= {"BaseException"}
CALLS = BUILTINS | {"predict", "run", "main", "self_test", "fit", "save_weights", "init_state"}
# ... and the module's _helpers


@st.composite
def hostile_documents(draw: st.DrawFn) -> dict:
    names = draw(st.lists(ids, min_size=5, max_size=5, unique_by=str.lower))
    x, w, h, y, t = names
    return {
        "nnspec": "1",
        "name": draw(hostile_text),
        "description": draw(hostile_text),
        **{f"x-{k}": draw(hostile_text) for k in draw(st.lists(hostile_text, max_size=2))},
        "inputs": {x: {"shape": ["batch", 2]}},
        "params": {w: {"shape": [2, 3], "init": "normal"}},
        "nodes": [
            {"id": h, "op": "matmul", "inputs": [x, w]},
            {"id": y, "op": "tanh", "inputs": [h]},
        ],
        "outputs": [h, y],
        "training": {"target": {"name": t, "shape": ["batch", 3]}, "loss": "mse", "output": y},
    }


def defined_names(tree: ast.Module) -> set[str]:
    """Names the module binds itself: assignments, functions, arguments, loop targets."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.FunctionDef):
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
    x = np.ones((2, 2), np.float32)
    out = module.predict(x)
    assert list(out) == doc["outputs"]
    assert module.self_test()
    if train:
        assert list(module.PARAMS) == list(doc["params"])
        target = doc["training"]["target"]["name"]
        batch = {next(iter(doc["inputs"])): x, target: np.ones((2, 3))}
        loss, grads = module.loss_and_gradients(batch)
        assert np.isfinite(loss) and list(grads) == list(doc["params"])
