"""Lowering as one pass: composite definitions, their own checks, and `lower` itself."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import pytest

import nnspec
from nnspec.ir import Node, Param, TensorType
from nnspec.spec.lower import (
    COMPOSITES,
    CheckedLayer,
    Composite,
    LayerError,
    LoweringError,
    Step,
    lower,
    step,
)
from nnspec.spec.schema import UNIONS

DENSE = COMPOSITES["dense"]
MAXOUT = COMPOSITES["maxout"]
ROWS = TensorType(("batch", 3), "float32")


def layer_of(comp: Composite, attrs: Mapping[str, Any], x: TensorType = ROWS) -> CheckedLayer:
    """A layer whose params are exactly what `comp.params` asks for."""
    full = {**comp.defaults(), **attrs}
    fan_in = comp.fan_in("h", x, "/nodes/0")
    params = {
        suffix: Param(f"h.{suffix}", TensorType(shape, x.dtype), pointer=f"/params/h.{suffix}")
        for suffix, (shape, _) in comp.params(fan_in, full).items()
    }
    return CheckedLayer("h", comp, "x", x, params, full, "/nodes/0")


def lowered(comp: Composite, attrs: Mapping[str, Any], **kw: Any) -> list[Node]:
    layer = layer_of(comp, attrs, **kw)
    return lower([(layer, comp.check(layer))])


def test_dense_lowers_to_matmul_add_activation_named_by_the_layer() -> None:
    nodes = lowered(DENSE, {"units": 4, "activation": "tanh"})
    assert [(n.id, n.op, n.inputs) for n in nodes] == [
        ("h.matmul", "matmul", ("x", "h.W")),
        ("h.add", "add", ("h.matmul", "h.b")),
        ("h", "tanh", ("h.add",)),
    ]
    assert {(n.origin, n.origin_op, n.pointer) for n in nodes} == {("h", "dense", "/nodes/0")}
    assert str(nodes[-1].type) == "f32[batch,4]"


@pytest.mark.parametrize("activation", [None, "linear"])
def test_dense_without_activation_or_bias_ends_at_the_affine_step(activation: str | None) -> None:
    nodes = lowered(DENSE, {"units": 2, "activation": activation, "use_bias": False})
    assert [(n.id, n.op) for n in nodes] == [("h", "matmul")]


def test_maxout_lowers_to_a_max_over_pieces() -> None:
    x = TensorType(("batch", 5, 3), "float64")
    nodes = lowered(MAXOUT, {"units": 2, "pieces": 3}, x=x)
    assert [n.op for n in nodes] == ["matmul", "add", "reshape", "max"]
    assert nodes[2].attr["shape"] == (0, 0, 2, 3)
    assert nodes[-1].id == "h" and str(nodes[-1].type) == "f64[batch,5,2]"


def test_primitive_nodes_pass_through_in_order() -> None:
    t = TensorType(("batch", 3), "float32")
    before = Node("a", "relu", ("x",), (), t)
    after = Node("b", "tanh", ("h",), (), TensorType(("batch", 2), "float32"))
    layer = layer_of(DENSE, {"units": 2})
    nodes = lower([before, (layer, DENSE.check(layer)), after])
    assert nodes[0] is before and nodes[-1] is after
    assert [n.id for n in nodes[1:-1]] == ["h.matmul", "h"]


def test_a_bias_of_the_wrong_size_is_a_located_error_not_a_broadcast() -> None:
    """A dense copy whose `params` makes a [1] bias: `add` would broadcast it silently;
    the layer's own check names the param and where it is declared."""
    shrunk = dataclasses.replace(
        DENSE, params=lambda fan_in, a: {**DENSE.params(fan_in, a), "b": ((1,), "zeros")}
    )
    layer = layer_of(shrunk, {"units": 4})
    with pytest.raises(LayerError) as caught:
        shrunk.check(layer)
    assert caught.value.code == "NN301"
    assert caught.value.message == "dense node 'h' needs param 'h.b' of shape [4], got [1]"
    assert caught.value.pointer == "/params/h.b"


def test_a_missing_param_is_a_layer_error() -> None:
    layer = layer_of(DENSE, {"units": 4})
    without_bias = dataclasses.replace(layer, params={"W": layer.params["W"]})
    with pytest.raises(LayerError, match=r"needs param 'h.b' of shape \[4\], got none"):
        DENSE.check(without_bias)


@pytest.mark.parametrize(
    ("x", "message"),
    [
        (TensorType(("batch", None), "float32"), "needs a float input whose last dimension"),
        (TensorType(("batch", 3), "int64"), "needs a float input whose last dimension"),
        (TensorType((), "float32"), "needs a float input whose last dimension"),
        (TensorType((3,), "float32"), r"rank >= 2 .*reshape a vector to \[1, 3\] first"),
    ],
)
@pytest.mark.parametrize("comp", COMPOSITES.values(), ids=list(COMPOSITES))
def test_every_composite_checks_its_input(comp: Composite, x: TensorType, message: str) -> None:
    with pytest.raises(LayerError, match=message) as caught:
        comp.fan_in("h", x, "/nodes/7")
    assert caught.value.code == "NN309" and caught.value.pointer == "/nodes/7"


@pytest.mark.parametrize("comp", COMPOSITES.values(), ids=list(COMPOSITES))
def test_every_composite_checks_its_params_dtype(comp: Composite) -> None:
    layer = layer_of(comp, comp.example)
    w = layer.params["W"]
    wrong = dataclasses.replace(w, type=TensorType(w.type.shape, "float64"))
    with pytest.raises(LayerError) as caught:
        comp.check(dataclasses.replace(layer, params={**layer.params, "W": wrong}))
    assert caught.value.code == "NN307" and caught.value.pointer == "/params/h.W"
    assert "'h.W' is float64" in caught.value.message


def test_a_definition_whose_steps_disagree_with_its_check_is_an_internal_error() -> None:
    doubled = dataclasses.replace(
        DENSE, build=lambda layer: step("concat", DENSE.build(layer), layer.x, axis=-1)
    )
    layer = layer_of(doubled, {"units": 2})
    with pytest.raises(LoweringError, match="promised f32\\[batch,2\\], its steps give"):
        lower([(layer, doubled.check(layer))])


def test_a_step_its_op_rejects_is_an_internal_error() -> None:
    broken = dataclasses.replace(DENSE, build=lambda layer: step("matmul", layer.x, layer.x))
    layer = layer_of(broken, {"units": 2})
    with pytest.raises(LoweringError, match="its check passed but its matmul step fails"):
        lower([(layer, broken.check(layer))])


def test_repeated_ops_inside_a_layer_get_numbered_names() -> None:
    def twice(layer: CheckedLayer) -> Step:
        return step("tanh", step("tanh", DENSE.build(layer)))

    double = dataclasses.replace(DENSE, build=twice)
    layer = layer_of(double, {"units": 2, "activation": "tanh"})
    names = [n.id for n in lower([(layer, double.check(layer))])]
    assert names == ["h.matmul", "h.add", "h.tanh", "h.tanh_2", "h"]


def test_definitions_wire_with_values_not_placeholder_strings() -> None:
    """Every name a step reads is the layer's input, one of its params, or another step."""
    for comp in COMPOSITES.values():
        layer = layer_of(comp, comp.example)
        known = {layer.x, *(p.name for p in layer.params.values())}
        pending = [comp.build(layer)]
        while pending:
            s = pending.pop()
            for v in s.inputs:
                assert isinstance(v, Step) or v in known, (comp.name, v)
                if isinstance(v, Step):
                    pending.append(v)


# ------------------------------------------------------------ a dense layer's activation


def _dense_node(**extra: Any) -> dict[str, Any]:
    return {
        "nnspec": "1",
        "inputs": {"x": {"shape": ["batch", 2]}},
        "nodes": [{"id": "h", "op": "dense", "units": 3, **extra}],
    }


@pytest.mark.parametrize(
    ("activation", "op", "attrs"),
    [
        ("leaky_relu", "leaky_relu", {"alpha": 0.1}),
        ({"op": "leaky_relu", "alpha": 0.2}, "leaky_relu", {"alpha": 0.2}),
        ({"op": "elu", "alpha": 0.5}, "elu", {"alpha": 0.5}),
        ({"op": "softmax", "axis": 0}, "softmax", {"axis": 0}),
        ({"op": "tanh"}, "tanh", {}),
    ],
)
def test_the_activation_is_lowered_with_its_attributes(
    activation: Any, op: str, attrs: dict[str, Any]
) -> None:
    last = nnspec.load(_dense_node(activation=activation)).nodes[-1]
    assert (last.id, last.op, last.attr) == ("h", op, attrs)


@pytest.mark.parametrize("key", sorted(UNIONS["activation"].owners("alpha")))
def test_an_activation_attribute_beside_activation_shows_the_object_to_write(key: str) -> None:
    problems = nnspec.validate(_dense_node(activation=key, alpha=0.25))
    (problem,) = [p for p in problems if p.is_error]
    assert problem.code == "NN102" and problem.pointer == "/nodes/0/alpha"
    assert f'"activation": {{"op": "{key}", "alpha": 0.25}}' in problem.message


def test_an_attribute_the_activation_lacks_names_the_activations_that_take_it() -> None:
    (problem,) = nnspec.validate(_dense_node(activation={"op": "relu", "alpha": 0.1}))
    owners = UNIONS["activation"].owners("alpha")
    assert problem.code == "NN102" and problem.pointer == "/nodes/0/activation/alpha"
    assert "belongs to activation " in problem.message and "not to 'relu'" in problem.message
    assert all(repr(o) in problem.message for o in owners)
