"""The training section of the semantic checker: which output is trained, how.

Called from `check.py` once the graph's nodes and outputs are typed: resolves the
trained output, the target input, the loss node (a node of the graph or one added
here, applied to the logits when the output is their sigmoid/softmax), the
optimizer, the schedule, validation, early stopping and the regularized params
(a layer's ``regularizer`` and the section's ``regularization`` map) into the IR's
`Training`. A regularizer that could have no effect (on a frozen param, or one the
loss does not read) is an error, like every other inert key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nnspec.autodiff import needed_values
from nnspec.errors import ShapeError, did_you_mean, pointer_join
from nnspec.ir import Input, Node, Regularizer, Training, freeze
from nnspec.ops import REGISTRY
from nnspec.regularizers import from_settings
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
    schedule = spec.get("schedule")
    schedule = {"name": schedule} if isinstance(schedule, str) else schedule
    regularizers = _regularizers(b, loss_node)
    if regularizers is None:
        return None
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
        schedule=None if schedule is None else dict(schedule),
        validation_split=spec.get("validation_split"),
        early_stopping=None if "early_stopping" not in spec else dict(spec["early_stopping"]),
        regularizers=regularizers,
    )


def _regularizers(b: GraphBuilder, loss_node: str) -> tuple[Regularizer, ...] | None:
    """The penalties of the layers' ``regularizer`` (on their kernel ``<id>.W``) and of the
    ``regularization`` map, in param order; None after reporting a problem."""
    given: dict[str, tuple[Any, str]] = {}  # param -> (settings, pointer)
    layers = {n.origin: n.pointer for n in b.nodes if n.origin is not None}
    for param in b.params.values():
        pointer = layers.get(param.owner) if param.owner is not None else None
        if pointer is None or param.name != f"{param.owner}.W":
            continue
        raw = b.doc["nodes"][int(pointer.rsplit("/", 1)[1])]
        if "regularizer" in raw:
            given[param.name] = (raw["regularizer"], f"{pointer}/regularizer")
    ok = True
    reads = needed_values(b.nodes, [loss_node])
    for name, settings in b.doc["training"].get("regularization", {}).items():
        pointer = pointer_join("training", "regularization", name)
        if name not in b.params:
            b.error(
                "NN202",
                f"regularization names {name!r}, which is not a param"
                f"{did_you_mean(name, b.params)}",
                pointer,
            )
            ok = False
        elif name in given:
            b.error(
                "NN102",
                f"param {name!r} already has a regularizer (at {given[name][1]}); "
                "give it in one place",
                pointer,
            )
            ok = False
        else:
            given[name] = (settings, pointer)
    for name, (_, pointer) in given.items():
        param = b.params[name]
        why = (
            "is not trainable"
            if not param.trainable
            else "is not read by the training loss"
            if name not in reads
            else ""
        )
        if why:
            b.error("NN102", f"a regularizer on {name!r} has no effect: the param {why}", pointer)
            ok = False
    if not ok:
        return None
    return tuple(from_settings(name, given[name][0]) for name in b.params if name in given)


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
