"""``compile(..., train=True)``: the module's gradients, optimizer steps and fit are nnspec's.

One row per op (a one-op graph fed by trainable params, with a loss), in float32 and
float64: the module's `loss_and_gradients` is bitwise `Model.gradients`. No tolerance
is needed anywhere: each ``<op>_vjp`` macro is the textual twin of the op's `vjp`, the
fan-out sums run in the interpreter's order, and the optimizers use its formulas.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import nnspec
from nnspec.codegen import compile, load_source
from nnspec.codegen.render import check_vjp_macros, family
from nnspec.codegen.train import EmitBackStep
from nnspec.datasets.files import write_npz
from nnspec.interpreter import Model
from nnspec.interpreter.optimizers import make_optimizer
from nnspec.interpreter.train import TrainingError
from nnspec.ops import REGISTRY
from nnspec.testing import assert_same_gradients

ROOT = Path(__file__).parents[2]
POSITIVE = {"log", "sqrt", "pow"}  # ops fed positive values, so gradients are not NaN


def _param(shape: list[int], positive: bool) -> dict:
    """Exact values in [0.5, 2]; alternating signs unless the op needs positive operands."""
    values = np.linspace(0.5, 2.0, int(np.prod(shape)))
    if not positive:
        values = values * np.resize([1.0, -1.0], values.size)
    return {"value": values.reshape(shape).tolist()}


def op_document(name: str, dtype: str, from_logits: bool = False) -> dict:
    """A one-op graph whose float operands are trainable params times inputs, plus a loss."""
    op = REGISTRY[name]
    pos = name in POSITIVE
    inputs: dict = {}
    params: dict = {}
    nodes: list = []

    def operand(key: str, shape: list, param_shape: list) -> str:
        inputs[f"x_{key}"] = {"shape": ["batch", *shape]}
        params[f"w_{key}"] = _param(param_shape, pos)
        nodes.append({"id": f"h_{key}", "op": "mul", "inputs": [f"x_{key}", f"w_{key}"]})
        return f"h_{key}"

    node = {"id": "y", "op": name, **op.example}
    if op.family == "losses":
        pred = operand("p", [3], [3])
        squash = "softmax" if name == "cross_entropy" else "sigmoid"
        if name != "mse" and not from_logits:
            nodes.append({"id": "probs", "op": squash, "inputs": [pred]})
            pred = "probs"
        labels = name == "cross_entropy"
        inputs["t"] = {"shape": ["batch"], "dtype": "int64"} if labels else {"shape": ["batch", 3]}
        attrs = {"from_logits": from_logits} if name != "mse" else {}
        nodes.append({"id": "loss", "op": name, "inputs": [pred, "t"], **attrs})
        doc = _doc(name, dtype, inputs, params, nodes, "loss")
        doc["training"] = {"loss": {"node": "loss"}}
        return doc
    if op.family == "binary":
        node["inputs"] = [operand("a", [3], [3]), "w_b"]
        params["w_b"] = _param([3], pos)
    elif op.family == "linalg":
        node["inputs"] = [operand("a", [3], [3]), "w_b"]
        params["w_b"] = _param([3, 2], pos)
    elif name == "concat":
        node["inputs"] = [operand("a", [3], [3]), operand("b", [2], [2])]
    elif op.family in ("reduce", "shape"):
        node["inputs"] = [operand("a", [3, 2], [2])]
    else:
        node["inputs"] = [operand("a", [3], [3])]
    nodes.append(node)
    shape = nnspec.load(_doc(name, dtype, inputs, params, nodes, "y")).types()["y"].shape
    inputs["t"] = {"shape": list(shape)}
    nodes.append({"id": "loss", "op": "mse", "inputs": ["y", "t"]})
    doc = _doc(name, dtype, inputs, params, nodes, "y")
    doc["training"] = {"loss": {"node": "loss"}}
    return doc


def _doc(name: str, dtype: str, inputs: dict, params: dict, nodes: list, out: str) -> dict:
    return {
        "nnspec": "1",
        "name": name,
        "dtype": dtype,
        "inputs": dict(inputs),
        "params": dict(params),
        "nodes": list(nodes),
        "outputs": [out],
    }


def feed(graph: nnspec.Graph, positive: bool, seed: int = 1) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    arrays = {}
    for inp in (*graph.inputs, *graph.training.targets):
        shape = tuple(d if isinstance(d, int) else 4 for d in inp.type.shape)
        if not inp.type.is_float:
            arrays[inp.name] = rng.integers(0, 3, shape).astype(inp.type.dtype)
        elif inp.name == "t":
            arrays[inp.name] = rng.uniform(0.1, 0.9, shape).astype(inp.type.dtype)
        else:
            low = 0.2 if positive else -2.0
            arrays[inp.name] = rng.uniform(low, 2.0, shape).astype(inp.type.dtype)
    return arrays


ROWS = [(name, False) for name in sorted(REGISTRY)] + [
    ("binary_cross_entropy", True),
    ("cross_entropy", True),
]


def test_every_differentiable_op_has_a_vjp_macro() -> None:
    assert check_vjp_macros() == []


@pytest.mark.parametrize("name", sorted(n for n, op in REGISTRY.items() if op.gradient == "exact"))
def test_in_place_tables_match_what_each_vjp_macro_reads(name: str) -> None:
    """The training forward writes in place into values no VJP reads; the tables that
    decide it must match the macros: a value is read unless only ``.shape``/``.dtype``."""
    op = REGISTRY[name]
    inputs = tuple(f"in{k}_value" for k in range(len(op.inputs)))
    for wanted in (
        (True,) * len(inputs),
        *(tuple(j == k for j in range(len(inputs))) for k in range(len(inputs))),
    ):
        step = EmitBackStep(
            op=f"{op.macro}_vjp",
            family=op.family,
            dy="dy_value",
            out="out_value",
            xs=inputs,
            gs=tuple(f"g{k}" if w else "" for k, w in enumerate(wanted)),
            attrs={k: v for k, v in _attr_literals(op).items()},
            facts={
                "axes": "(0,)",
                "keepdims": "False",
                "count": "in0_value.shape[0]",
                "order": "(0,)",
                "inverse": "(0,)",
                "kept": "0",
                "a_t": "np.swapaxes(in0_value, -1, -2)",
                "b_t": "in1_value.T",
            },
            adds=(),
            comment="",
        )
        code = str(getattr(family(op.family).module, step.op)(step))

        def reads(ident: str, code: str = code) -> bool:
            return re.search(rf"\b{ident}\b(?!\.(shape|dtype))", code) is not None

        # Keeping more than is read is safe; reading what the tables let go is not.
        assert not reads("out_value") or op.vjp_reads_out, (name, code)
        if op.vjp_reads == "shapes":
            assert not any(reads(x) for x in inputs), (name, code)
        elif op.vjp_reads == "other":
            assert not reads("in1_value") or step.gs[0], code
            assert not reads("in0_value") or step.gs[1], code


def _attr_literals(op) -> dict[str, str]:
    return {
        k: repr(v)
        for k, v in {
            **op.defaults(),
            "from_logits": True,
            "alpha": 0.1,
            "axis": -1,
            "perm": None,
        }.items()
    }


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(("name", "from_logits"), ROWS)
def test_op_gradients_agree_bitwise(name: str, from_logits: bool, dtype: str) -> None:
    graph = nnspec.load(op_document(name, dtype, from_logits))
    source = compile(graph, self_test=False, train=True)
    module = load_source(source)
    assert_same_gradients(module, Model(graph), feed(graph, name in POSITIVE))
    if REGISTRY[name].gradient == "zero":  # no gradient flows through a step
        assert "np.ones_like(loss)" not in source  # nothing to differentiate at all
        _, grads = module.loss_and_gradients(feed(graph, False))
        assert all(not g.any() for g in grads.values())


def test_only_the_loss_path_is_differentiated() -> None:
    """Only values between trainable params and the loss are differentiated.

    A param reaching the loss only through sign gets zeros; one the loss never reads
    gets no entry (as in `Model.gradients`); constants get no gradient variable.
    """
    doc = {
        "nnspec": "1",
        "name": "pruned",
        "inputs": {"x": {"shape": ["batch", 2]}, "t": {"shape": ["batch", 2]}},
        "params": {
            "w": {"value": [1.5, -0.5]},
            "c": {"value": [2.0, 3.0], "trainable": False},
            "unused": {"value": [1.0]},
            "stepped": {"value": [1.0, 2.0]},
        },
        "nodes": [
            {"id": "h", "op": "mul", "inputs": ["x", "w"]},
            {"id": "k", "op": "mul", "inputs": ["h", "c"]},
            {"id": "z", "op": "mul", "inputs": ["x", "stepped"]},
            {"id": "s", "op": "sign", "inputs": ["z"]},
            {"id": "y", "op": "add", "inputs": ["k", "s"]},
            {"id": "loss", "op": "mse", "inputs": ["y", "t"]},
        ],
        "outputs": ["y"],
        "training": {"loss": {"node": "loss"}},
    }
    graph = nnspec.load(doc)
    source = compile(graph, self_test=False, train=True)
    module = load_source(source)
    backward = source.split("np.ones_like(loss)")[1].split("return loss")[0]
    assert "d_s" not in backward and "d_C" not in backward and "np.sign" not in backward
    assert '"stepped": np.zeros_like(STEPPED)' in source and '"unused": np' not in source
    assert set(module.PARAMS) == {"w", "unused", "stepped"}
    assert_same_gradients(module, Model(graph), feed(graph, False))


def test_unbroadcast_helper_is_emitted_only_when_used() -> None:
    graph = nnspec.load(op_document("matmul", "float32"))  # x*w broadcasts w; a@b does not
    source = compile(graph, self_test=False, train=True)
    # w's dims are known and none is 1: the sum `_unbroadcast` would do is written out
    assert "_unbroadcast" not in source
    assert source.count(".sum(axis=(0,), out=_gradient_buffer(") == 1
    doc = json_doc(ROOT / "examples" / "linear_regression.json")
    doc["nodes"][0]["use_bias"] = False
    assert "_unbroadcast" not in compile(nnspec.load(doc), self_test=False, train=True)
    # a loss's gradient against integer labels has no shape known here: the helper decides
    graph = nnspec.load(ROOT / "examples" / "mlp.json")
    source = compile(graph, self_test=False, train=True)
    assert source.count("def _unbroadcast") == 1 and source.count("_unbroadcast(") >= 2


def test_train_needs_a_training_loss() -> None:
    with pytest.raises(ValueError, match="no training loss"):
        compile(nnspec.load(ROOT / "examples" / "sign_network.json"), train=True)


def _xor_data(dtype: str = "float32", rows: int = 40) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, (rows, 2)).astype(dtype)
    y = ((x[:, :1] > 0) != (x[:, 1:] > 0)).astype(dtype)
    return x, y


OPTIMIZER_CASES = [
    {"name": "sgd"},
    {"name": "sgd", "momentum": 0.9},  # Keras's SGD(momentum=0.9): heavy ball
    {"name": "momentum"},
    {"name": "momentum", "momentum": 0.5},
    {"name": "adam"},
    {"name": "adam", "beta1": 0.5, "beta2": 0.75, "epsilon": 1e-3},
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("spec", OPTIMIZER_CASES, ids=lambda s: "-".join(map(str, s.values())))
def test_optimizer_steps_equal_the_interpreters(spec: dict, dtype: str) -> None:
    doc = json_doc(ROOT / "examples" / "xor.json")
    doc["dtype"] = dtype
    doc["training"]["optimizer"] = {**spec, "learning_rate": 0.3}
    graph = nnspec.load(doc)
    module = load_source(compile(graph, self_test=False, train=True))
    model = Model(graph)
    opt = make_optimizer(graph.training.optimizer)
    state = module.init_state()
    x, y = _xor_data(dtype)
    for step in range(3):  # adam's bias correction and momentum's velocity change per step
        batch = {"x": x[step::3], "y": y[step::3]}
        want_loss, grads = model.gradients(batch)
        opt.step(model.params, grads)
        assert module.train_step(batch, state) == want_loss
        for name, value in model.params.items():
            assert np.array_equal(module.PARAMS[name], value), (spec, step, name)
    assert np.array_equal(module.predict(x), model.predict(x))


def json_doc(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fit_equals_nnspec_train_bit_for_bit(dtype: str) -> None:
    doc = json_doc(ROOT / "examples" / "xor.json")
    doc["dtype"] = dtype
    doc["training"].update(epochs=4, batch_size=16)  # 40 rows: shuffled, last batch short
    graph = nnspec.load(doc)
    module = load_source(compile(graph, self_test=False, train=True))
    x, y = _xor_data(dtype)
    history = nnspec.train(Model(graph), x, y, quiet=True)
    assert module.fit(x, y) == history.loss
    for name, value in history.model.params.items():
        assert np.array_equal(module.PARAMS[name], value), name


def test_fit_stops_on_a_non_finite_loss_at_the_last_epoch_like_nnspec() -> None:
    graph = nnspec.load(ROOT / "examples" / "linear_regression.json")
    module = load_source(compile(graph, self_test=False, train=True))
    x = np.linspace(-1, 1, 24, dtype=np.float32).reshape(8, 3) * 1e18
    y = x[:, :1]
    model = Model(graph)
    with np.errstate(all="ignore"):
        with pytest.raises(TrainingError) as stopped:
            nnspec.train(model, x, y, epochs=3, learning_rate=1e30, quiet=True)
        with pytest.raises(FloatingPointError, match="not finite"):
            module.fit(x, y, epochs=3, learning_rate=1e30)
    assert stopped.value.history.stopped == "non-finite loss"
    for name, value in model.params.items():
        assert np.array_equal(module.PARAMS[name], value, equal_nan=True), name


def test_weights_round_trip_and_load_into_a_document(tmp_path: Path) -> None:
    graph = nnspec.load(ROOT / "examples" / "xor.json")
    module = load_source(compile(graph, self_test=False, train=True))
    x, y = _xor_data()
    module.fit(x, y, epochs=2)
    path = tmp_path / "w.npz"
    module.save_weights(str(path))
    first = path.read_bytes()
    module.save_weights(str(path))
    assert path.read_bytes() == first  # deterministic bytes
    nnspec_file = io.BytesIO()
    write_npz(nnspec_file, module.PARAMS)
    assert first == nnspec_file.getvalue()  # the bytes nnspec writes for the same weights
    with np.load(path, allow_pickle=False) as saved:
        assert {k: saved[k].tobytes() for k in saved.files} == {
            k: v.tobytes() for k, v in module.PARAMS.items()
        }
    fresh = load_source(compile(graph, self_test=False, train=True))
    fresh.load_weights(str(path))
    assert np.array_equal(fresh.predict(x), module.predict(x))
    assert np.array_equal(Model(graph, dict(np.load(path))).predict(x), module.predict(x))


def test_compile_is_deterministic_with_train() -> None:
    graph = nnspec.load(ROOT / "examples" / "mlp.json")
    assert compile(graph, train=True) == compile(graph, train=True)


def test_cli_compile_train(tmp_path: Path) -> None:
    from nnspec.cli.main import main

    out = tmp_path / "m.py"
    assert main(["compile", str(ROOT / "examples" / "xor.json"), "--train", "-o", str(out)]) == 0
    assert "def fit(" in out.read_text()
    code = main(["compile", str(ROOT / "examples" / "sign_network.json"), "--train"])
    assert code == 2
    # --check compiles with the options the module records (--train), and refuses others
    assert main(["compile", str(ROOT / "examples" / "xor.json"), "-o", str(out), "--check"]) == 0
    check = ["compile", str(ROOT / "examples" / "xor.json"), "-o", str(out), "--check"]
    assert main([*check, "--weights-file"]) == 1


def test_main_trains_from_an_npz(tmp_path: Path) -> None:
    graph = nnspec.load(ROOT / "examples" / "xor.json")
    path = tmp_path / "m.py"
    path.write_text(compile(graph, train=True), encoding="utf-8")
    x, y = _xor_data()
    np.savez(tmp_path / "data.npz", x=x, y=y)
    result = subprocess.run(
        [sys.executable, str(path), "--train", "data.npz", "-o", "w.npz", "--epochs", "3"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    want = nnspec.train(Model(graph), x, y, epochs=3, quiet=True).loss
    assert [float(line.split()[-1]) for line in result.stdout.splitlines()] == want
    assert (tmp_path / "w.npz").is_file()
    bad = subprocess.run(
        [sys.executable, str(path), "--train", "data.npz"], capture_output=True, text=True
    )
    assert bad.returncode == 2 and "-o WEIGHTS.npz" in bad.stderr
