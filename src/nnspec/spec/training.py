"""The training section of the semantic checker: which output is trained, how.

Called from `check.py` once the graph's nodes and outputs are typed: resolves the
trained output, the target input, the loss node (a node of the graph or one added
here, applied to the logits when the output is their sigmoid/softmax) and the
optimizer into the IR's `Training`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nnspec.errors import ShapeError
from nnspec.ir import Input, Node, Training, freeze
from nnspec.ops import REGISTRY
from nnspec.spec.builder import GraphBuilder, attr_defaults, tensor_type

DEFAULT_TARGET = "target"


def _unused_name(base: str, taken: set[str]) -> str:
    name, k = base, 0
    while name in taken:
        k += 1
        name = f"{base}_{k}"
    return name


def resolve_training(b: GraphBuilder, outputs: list[str]) -> Training | None:
    spec = b.doc["training"]
    if "output" in spec:
        output = spec["output"]
        if output not in outputs:
            b.error(
                "NN502",
                f"training output {output!r} is not one of the outputs {outputs}",
                "/training/output",
            )
            return None
    elif len(outputs) == 1:
        output = outputs[0]
    else:
        b.error(
            "NN502",
            f"the graph has {len(outputs)} outputs; say which one is trained with "
            '"training": {"output": ...}',
            "/training",
        )
        return None
    loss = spec["loss"]
    loss = {"op": loss} if isinstance(loss, str) else dict(loss)
    targets: tuple[Input, ...] = ()
    if "node" in loss:
        if not _fits_loss_node(b, spec):
            return None
        loss_node = loss["node"]
        loss_type = b.types.get(loss_node)
        if loss_node not in b.types or loss_node in b.params:
            b.error("NN202", f"loss node {loss_node!r} is not a node", "/training/loss/node")
            return None
        if loss_type is not None and loss_type.shape != ():
            b.error(
                "NN501",
                f"loss node {loss_node!r} must be a scalar, got {loss_type}",
                "/training/loss/node",
            )
            return None
        b.used.add(loss_node)
    else:
        target_spec = spec.get("target")
        out_type = b.types[output]
        if target_spec is None:
            shown = "" if out_type is None else f" shaped like the output {output!r} ({out_type})"
            b.error(
                "NN501",
                f'the {loss["op"]} loss needs a "target": {{"shape": [...]}}{shown}',
                "/training",
            )
            return None
        target = Input(
            target_spec.get("name", DEFAULT_TARGET),
            tensor_type(target_spec, b.dtype),
            "/training/target",
        )
        targets = (target,)
        b.types[target.name] = target.type
        loss_node = _unused_name("loss", set(b.types) | set(b.params))
        attrs = {**attr_defaults(loss["op"]), **{k: v for k, v in loss.items() if k != "op"}}
        if out_type is None:
            return None
        try:
            out = REGISTRY[loss["op"]].shape((out_type, target.type), **attrs)
        except ShapeError as exc:
            b.error(
                exc.code if exc.code in ("NN501", "NN307") else "NN501",
                f"training: {exc.message}",
                "/training/target",
            )
            return None
        pred, attrs = _through_logits(b, output, loss["op"], attrs)
        b.nodes.append(
            Node(loss_node, loss["op"], (pred, target.name), freeze(attrs), out, "/training/loss")
        )
        b.types[loss_node] = out
    optimizer = spec.get("optimizer", "sgd")
    optimizer = {"name": optimizer} if isinstance(optimizer, str) else dict(optimizer)
    return Training(
        output=output,
        targets=targets,
        loss=loss,
        optimizer=optimizer,
        epochs=int(spec.get("epochs", 100)),
        batch_size=spec.get("batch_size"),
        seed=int(spec.get("seed", b.doc.get("seed", 0))),
        metrics=tuple(spec.get("metrics", ())),
        loss_node=loss_node,
    )


def _fits_loss_node(b: GraphBuilder, spec: Mapping[str, Any]) -> bool:
    """A loss node reads the graph's own inputs: a "target" section would do nothing."""
    if "target" not in spec:
        return True
    b.error(
        "NN102",
        "'target' has no effect with a loss node, which computes the loss from the "
        'graph\'s own inputs; remove it, or make the loss an op such as "mse"',
        "/training/target",
    )
    return False


# Loss from probabilities -> the activation that produces them from logits.
_LOGIT_ACTIVATIONS = {"binary_cross_entropy": "sigmoid", "cross_entropy": "softmax"}


def _through_logits(
    b: GraphBuilder, output: str, loss_op: str, attrs: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """Apply a cross-entropy loss to the logits when the output is their sigmoid/softmax.

    Mathematically the same loss, but computed exactly (no clipping of probabilities),
    so a confidently wrong prediction still gets a gradient. Documented in format.md.
    """
    if attrs.get("from_logits") or loss_op not in _LOGIT_ACTIVATIONS:
        return output, attrs
    producer = next((n for n in reversed(b.nodes) if n.id == output), None)
    if producer is None or producer.op != _LOGIT_ACTIVATIONS[loss_op]:
        return output, attrs
    if producer.op == "softmax" and dict(producer.attrs)["axis"] not in (
        -1,
        producer.type.rank - 1,
    ):
        return output, attrs
    return producer.inputs[0], {**attrs, "from_logits": True}
