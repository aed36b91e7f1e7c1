"""Completeness: every fact the engines, the generator, the tests and the strategies
use is on the op's `OpDef`, and is true.

A new op that forgets a fact fails here, naming the op and the fact; the op table
(`test_op_table.py`) checks the facts that need sample values.
"""

from __future__ import annotations

import math
import re
from typing import get_args

import numpy as np
import pytest

from nnspec.codegen.emit import EmitStep
from nnspec.codegen.render import HELPERS, family, helper
from nnspec.codegen.train import EmitBackStep
from nnspec.ir import TensorType
from nnspec.ops import REGISTRY
from nnspec.ops.base import OnnxMapping, OnnxRule
from nnspec.spec.lower import ACTIVATIONS

OPS = sorted(REGISTRY)
DOMAINS = {"real", "positive", "small"}


def _called(code: str) -> set[str]:
    return {h for h in HELPERS if re.search(rf"\b_{h}\(", code)}


def _step(op, kept: str = "") -> EmitStep:
    xs = tuple(f"in{k}" for k in range(2 if op.variadic else len(op.inputs)))
    attrs = {k: repr(v) for k, v in {**op.defaults(), **op.example}.items()}
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in op.example.items()}
    return EmitStep(op.macro, op.family, "out", xs, attrs, values, "", "", "", kept=kept)


def _back(op, kept: str = "") -> EmitBackStep:
    xs = tuple(f"in{k}" for k in range(2 if op.variadic else len(op.inputs)))
    attrs = {k: repr(v) for k, v in {**op.defaults(), **op.example}.items()}
    facts = {k: "(0,)" for k in ("axes", "order", "inverse")}
    facts.update(keepdims="False", count="1", kept="0", a_t="in0.T", b_t="in1.T")
    gs = tuple(f"g{k}" for k in range(len(xs)))
    return EmitBackStep(
        f"{op.macro}_vjp", op.family, "dy", "out", xs, gs, attrs, facts, (), "", "", kept
    )


@pytest.mark.parametrize("name", OPS)
def test_every_op_has_its_rules(name: str) -> None:
    op = REGISTRY[name]
    assert op.doc and callable(op.shape) and callable(op.forward), name
    assert op.gradient != "exact" or op.vjp is not None, f"{name}: exact gradient needs a vjp"
    assert hasattr(family(op.family).module, op.macro), f"{name}: no forward macro"
    if op.gradient == "exact":
        assert hasattr(family(op.family).module, f"{op.macro}_vjp"), f"{name}: no VJP macro"


@pytest.mark.parametrize("name", OPS)
def test_a_non_smooth_op_says_where_its_kinks_are(name: str) -> None:
    """An op documenting a non-differentiable convention must give `kinks`, or the
    gradient properties would step across its kink."""
    op = REGISTRY[name]
    if op.nondiff:
        assert op.kinks is not None, f"{name} documents {op.nondiff!r} but has no kinks"


@pytest.mark.parametrize("name", OPS)
def test_declared_helpers_are_the_ones_the_macros_call(name: str) -> None:
    op = REGISTRY[name]
    module = family(op.family).module
    forward = str(getattr(module, op.macro)(_step(op)))
    assert _called(forward) == set(op.helpers), f"{name}: OpDef.helpers"
    if op.gradient == "exact":
        backward = str(getattr(module, f"{op.macro}_vjp")(_back(op)))
        assert _called(backward) == set(op.vjp_helpers), f"{name}: OpDef.vjp_helpers"
    if op.kept:
        kept_fw = str(getattr(module, op.macro)(_step(op, kept="k")))
        kept_bw = str(getattr(module, f"{op.macro}_vjp")(_back(op, kept="k")))
        assert (_called(kept_fw), _called(kept_bw)) == ({op.kept[0]}, {op.kept[1]}), name


@pytest.mark.parametrize("name", [n for n in OPS if REGISTRY[n].training is not None])
def test_a_training_rule_has_its_macros_and_helpers(name: str) -> None:
    """`OpDef.training` ops render ``<op>_train`` (noise into `kept`, declared helpers)
    and ``<op>_train_vjp`` (reading `kept`) in --train modules."""
    op = REGISTRY[name]
    assert op.training is not None and op.gradient == "exact", name
    module = family(op.family).module
    step = _step(op, kept="noise")
    step = EmitStep(**{**step.__dict__, "attrs": {**step.attrs, "stream": "[0, 0, 0, 1]"}})
    forward = str(getattr(module, f"{op.macro}_train")(step))
    assert _called(forward) == set(op.training.helpers), f"{name}: TrainingRule.helpers"
    assert "noise =" in forward and "np.random.default_rng([0, 0, 0, 1])" in forward, forward
    backward = str(getattr(module, f"{op.macro}_train_vjp")(_back(op, kept="noise")))
    assert "noise" in backward and not _called(backward), backward


def test_the_helper_table_says_what_each_helper_calls() -> None:
    for name, calls in HELPERS.items():
        assert _called(helper(name)) - {name} == set(calls), name


@pytest.mark.parametrize("name", OPS)
def test_engine_facts_are_consistent(name: str) -> None:
    op = REGISTRY[name]
    if op.ufunc is not None:
        assert isinstance(op.ufunc, np.ufunc) and op.forward is op.ufunc, name
        assert op.write_into is None, f"{name}: a ufunc writes into out= itself"
    assert not (op.view and op.inplace), f"{name}: a view cannot be written in place"
    assert op.vjp_reads in ("values", "shapes", "other"), name
    assert op.vjp_reads != "other" or len(op.inputs) == 2, name
    assert len(op.vjp_halves) in (0, len(op.inputs)), name
    assert not op.vjp_into or op.vjp_fresh, f"{name}: an out= VJP owns its result"
    assert not op.kept or op.family == "losses", name


@pytest.mark.parametrize("name", OPS)
def test_test_facts_are_well_formed(name: str) -> None:
    op = REGISTRY[name]
    assert len(op.domain) in (0, len(op.inputs)) and set(op.domain) <= DOMAINS, name
    assert set(op.samples) <= set(op.attrs), f"{name}: samples for unknown attributes"
    if op.activation:
        assert op.inputs == ("x",), f"{name}: an activation takes one input"
        assert name in ACTIVATIONS
        assert op.shape((TensorType(("batch", 3)),), **op.defaults()) == TensorType(("batch", 3))


@pytest.mark.parametrize(
    "name", [n for n in OPS if REGISTRY[n].family in ("elementwise", "binary")]
)
def test_declared_value_bounds_hold(name: str) -> None:
    """`OpDef.bound` (what keeps random graphs finite) bounds |output| on its domain."""
    op = REGISTRY[name]
    rng = np.random.default_rng(0)
    for m in (0.5, 1.0, 4.0, 10.0):
        xs = []
        for k in range(len(op.inputs)):
            domain = op.domain_of(k)
            low = 0.5 if domain == "positive" else -min(m, 4.0) if domain == "small" else -m
            high = min(m, 4.0) if domain == "small" else m
            xs.append(rng.uniform(low, max(high, low), size=50))
        for k, constants in op.constants.items():  # random graphs feed these constants
            xs[k] = np.full(50, rng.choice(constants))
        bounds = [float(np.max(np.abs(x))) for x in xs]
        y = op.forward(*xs, **op.defaults())
        bound = bounds[0] if op.bound is None else op.bound(*bounds)
        assert float(np.max(np.abs(y))) <= bound * (1 + 1e-12) + 1e-12, (name, m)
        assert math.isfinite(bound)


@pytest.mark.parametrize("name", OPS)
def test_every_op_says_how_onnx_writes_it(name: str) -> None:
    """`OpDef.onnx` is the op's ONNX twin, checked against onnx's own op schema at the
    export opset (attribute names, ONNX's defaults), or a sentence saying why it has none."""
    import onnx.defs

    from nnspec.onnx.exporter import EXPORT_OPSET

    op = REGISTRY[name]
    assert op.onnx is not None, f"{name}: set OpDef.onnx (an OnnxMapping, or why it has none)"
    if isinstance(op.onnx, str):
        assert op.onnx.strip(), name
        return
    assert isinstance(op.onnx, OnnxMapping) and op.onnx.rule in get_args(OnnxRule), name
    schema = onnx.defs.get_schema(op.onnx.op_type, EXPORT_OPSET)
    for attr, default in op.onnx.attrs.items():
        assert op.attrs[attr]["type"] == "number", f"{name}.{attr}: ONNX float attribute"
        onnx_default = onnx.helper.get_attribute_value(schema.attributes[attr].default_value)
        assert np.float32(default) == np.float32(onnx_default), f"{name}.{attr}: ONNX default"
    assert set(op.onnx.fixed) <= set(schema.attributes), name


@pytest.mark.parametrize("name", OPS)
def test_random_graphs_know_how_to_add_it(name: str) -> None:
    """`maker`, `positive` and `constants` are what `nnspec.testing` draws the op by."""
    from nnspec.testing.strategies import MAKERS

    op = REGISTRY[name]
    assert not op.maker or op.maker in MAKERS, f"{name}: OpDef.maker {op.maker!r}"
    assert op.positive in ("", "always", "if_inputs"), name
    assert set(op.constants) <= set(range(len(op.inputs))) and 0 not in op.constants, name
