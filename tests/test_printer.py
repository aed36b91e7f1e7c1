"""The canonical printer: golden text for a lecture example, and name quoting."""

from __future__ import annotations

from pathlib import Path

from nnspec.ir import Graph, Input, Node, Param, TensorType
from nnspec.printer import format_graph, format_name, format_node
from nnspec.spec.load import load

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

XOR = """\
graph xor(x: f32[batch,2], y: f32[batch,1]) {
  param hidden.W: f32[2,8]
  param hidden.b: f32[8]
  param prob.W: f32[8,1]
  param prob.b: f32[1]
  hidden.matmul: f32[batch,8] = matmul(x, hidden.W)
  hidden.add: f32[batch,8] = add(hidden.matmul, hidden.b)
  hidden: f32[batch,8] = tanh(hidden.add)
  prob.matmul: f32[batch,1] = matmul(hidden, prob.W)
  prob.add: f32[batch,1] = add(prob.matmul, prob.b)
  prob: f32[batch,1] = sigmoid(prob.add)
  loss: f32[] = binary_cross_entropy(prob.add, y) {from_logits=true}
  return prob
}
"""


def test_golden_xor() -> None:
    assert format_graph(load(EXAMPLES / "xor.json")) == XOR


def test_attributes_sorted_and_constants_marked() -> None:
    node = Node("m", "max", ("r",), (("keepdims", False), ("axis", -1)), TensorType(("batch", 8)))
    assert format_node(node) == "m: f32[batch,8] = max(r) {axis=-1, keepdims=false}"
    text = format_graph(load(EXAMPLES / "sign_network.json"))
    assert "  param h.W: f32[2,2] const\n" in text


def test_unknown_dims_and_odd_names() -> None:
    assert format_name("hidden.W") == "hidden.W"
    assert format_name('a"b\nc') == '"a\\"b\\nc"'
    graph = Graph(
        name="bad\nname",
        dtype="float64",
        inputs=(Input("x", TensorType((None, 3), "float64")),),
        params=(Param("w w", TensorType((3,), "float64")),),
        nodes=(Node("y", "mul", ("x", "w w"), (), TensorType((None, 3), "float64")),),
        outputs=("y",),
    )
    text = format_graph(graph)
    assert text.splitlines()[0] == 'graph "bad\\nname"(x: f64[?,3]) {'
    assert '  y: f64[?,3] = mul(x, "w w")' in text
    assert len(text.splitlines()) == 5  # one line per value, whatever the names hold
