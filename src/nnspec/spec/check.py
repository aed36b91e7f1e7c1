"""Third stage: meaning. A schema-clean document becomes a `Graph`, or problems.

Order of work: names → wiring (implied inputs, references) → topological order
(cycles) → types in order (a composite layer by its own check, which makes its
params) → lowering (`lower.lower`, one pass: layers become primitives) → params and
weights → outputs and training → warnings for unused things. A node whose type
cannot be inferred poisons its dependents silently, so one mistake gives one problem.

Here: the driver, wiring, the inference loop, outputs and warnings.
Param materialisation lives in `params.py`, the training section in `training.py`,
the state they share in `builder.py`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from nnspec.autodiff import needed_values
from nnspec.errors import Problem, ShapeError, did_you_mean, pointer_join
from nnspec.ir import Graph, Input, Node, TensorType, Training, freeze
from nnspec.ops import REGISTRY
from nnspec.spec.builder import GraphBuilder, WiredNode, attr_defaults, tensor_type
from nnspec.spec.learnable import learning_problems, setting_problems
from nnspec.spec.limits import Limits, shape_problems
from nnspec.spec.lower import COMPOSITES, CheckedLayer, Composite, LayerError, lower
from nnspec.spec.order import topological_order
from nnspec.spec.params import declared_params, finish_params, make_param, param_type
from nnspec.spec.training import DEFAULT_TARGET, resolve_training

VERIFY_GRAPHS = False
"""When True (the test suite sets it), `build_graph` re-derives every type of the graph
it built with `nnspec.typecheck.typecheck`; otherwise the graph is typed by construction."""


def build_graph(
    doc: Mapping[str, Any], *, base_dir: Path | None, limits: Limits, sha256: str = ""
) -> tuple[Graph | None, list[Problem]]:
    """Check a schema-clean document; returns the graph (None on errors) and all problems."""
    b = GraphBuilder(doc, base_dir, limits)
    nodes = doc["nodes"]
    if len(nodes) > limits.max_nodes:
        b.error(
            "NN601",
            f"the document has {len(nodes)} nodes; the limit is {limits.max_nodes}",
            "/nodes",
        )
        return None, b.problems
    b.problems.extend(shape_problems(doc, limits))
    if b.problems:
        return None, b.problems
    inputs = _inputs(b)
    declared = declared_params(b)
    wired = _wire(b, inputs, declared)
    if any(p.is_error for p in b.problems):
        return None, b.problems
    order = topological_order(wired, b.problems)
    if order is None:
        return None, b.problems
    for node in order:
        _infer(b, node, declared)
    b.nodes = lower(b.checked)
    # a layer's inner steps (<id>.add, ...) may be named as an output or the loss node
    b.types.update((node.id, node.type) for node in b.nodes)
    finish_params(b, declared)
    outputs = _outputs(b, wired)
    training = resolve_training(b, outputs) if "training" in doc and outputs else None
    if any(p.is_error for p in b.problems):
        return None, b.problems
    _warn_unused(b, inputs, declared, outputs, training)
    graph = Graph(
        name=str(doc.get("name", "")),
        dtype=b.dtype,
        inputs=tuple(inputs.values()),
        params=tuple(b.params.values()),
        nodes=tuple(b.nodes),
        outputs=tuple(outputs),
        training=training,
        seed=int(doc.get("seed", 0)),
        description=str(doc.get("description", "")),
        source_sha256=sha256,
        meta={k: v for k, v in doc.items() if k.startswith("x-")},
    )
    b.problems.extend(learning_problems(graph))
    b.problems.extend(setting_problems(graph))
    return graph, b.problems


def _inputs(b: GraphBuilder) -> dict[str, Input]:
    inputs = {}
    for name, spec in b.doc["inputs"].items():
        pointer = pointer_join("inputs", name)
        inputs[name] = Input(name, tensor_type(spec, b.dtype), pointer)
        b.types[name] = inputs[name].type
    return inputs


def _wire(
    b: GraphBuilder, inputs: Mapping[str, Input], declared: Mapping[str, dict]
) -> list[WiredNode]:
    """Give every node an id and explicit inputs, reporting clashes and unknown names."""
    nodes = b.doc["nodes"]
    taken: dict[str, str] = {name: "an input" for name in inputs}
    taken.update({name: "a param" for name in declared})
    target = b.doc.get("training", {}).get("target")
    if target is not None:
        name = target.get("name", DEFAULT_TARGET)
        if name in taken:
            b.error(
                "NN201",
                f"the training target is named {name!r}, like {taken[name]}; give the target "
                'another "name"',
                "/training/target/name" if "name" in target else "/training/target",
            )
        taken.setdefault(name, "the training target")
    explicit_ids = {n["id"] for n in nodes if "id" in n}
    wired: list[WiredNode] = []
    for index, raw in enumerate(nodes):
        pointer = pointer_join("nodes", index)
        node_id = raw.get("id") or _fresh(raw["op"], index, explicit_ids, taken)
        if node_id in taken:
            b.error(
                "NN201",
                f"node id {node_id!r} is already used by {taken[node_id]}; ids must be unique",
                pointer_join("nodes", index, "id"),
            )
        taken[node_id] = f"node {index}"
        attrs = {
            k: v
            for k, v in raw.items()
            if k not in ("op", "id", "inputs", "description") and not k.startswith("x-")
        }
        wired.append(WiredNode(index, node_id, raw["op"], (), attrs, pointer))
    names = set(taken)
    for index, (raw, node) in enumerate(zip(nodes, wired, strict=True)):
        if "inputs" in raw:
            node.inputs = tuple(raw["inputs"])
            for k, ref in enumerate(node.inputs):
                if ref not in names:
                    b.error(
                        "NN202",
                        f"node {node.id!r} takes {ref!r}, which is not an input, param or node"
                        f"{did_you_mean(ref, names - {node.id})}",
                        pointer_join("nodes", index, "inputs", k),
                    )
        elif index > 0:
            node.inputs = (wired[index - 1].id,)
        elif len(inputs) == 1:
            node.inputs = (next(iter(inputs)),)
        else:
            b.error(
                "NN205",
                f"the first node {node.id!r} has no 'inputs' and the graph has "
                f"{len(inputs)} inputs ({', '.join(sorted(inputs))}); say which it takes, "
                f'e.g. "inputs": ["{sorted(inputs)[0]}"]',
                node.pointer,
            )
            continue  # the arity check would report the same missing input again
        _check_arity(b, node)
    _check_reserved(b, wired, inputs, declared)
    return wired


def _check_reserved(
    b: GraphBuilder,
    wired: list[WiredNode],
    inputs: Mapping[str, Input],
    declared: Mapping[str, dict],
) -> None:
    """Names ``<layer id>.<part>`` belong to a composite layer's params and steps; a user
    node or input with such a name would collide with them after lowering."""
    layers = {}
    for node in wired:
        if node.op in COMPOSITES:
            comp = COMPOSITES[node.op]
            layers[node.id] = (node.op, sorted(comp.params(1, {**comp.defaults(), **node.attrs})))
    if not layers:
        return
    # (name, kind, where): a node's pointer is built only if it is reported
    named: list[tuple[str, str, str | WiredNode]] = [
        (w.id, "node", w) for w in wired if "." in w.id
    ]
    named += [(name, "input", inp.pointer) for name, inp in inputs.items() if "." in name]
    named += [(name, "param", spec["pointer"]) for name, spec in declared.items() if "." in name]
    for name, kind, where in named:
        layer, _, part = name.rpartition(".")
        if layer not in layers:
            continue
        pointer = where if isinstance(where, str) else pointer_join("nodes", where.index, "id")
        op, owned = layers[layer]
        if kind == "param" and part in owned:
            continue  # declaring a layer's own param (shape, init, value) is allowed
        params = ", ".join(repr(f"{layer}.{p}") for p in owned)
        hint = did_you_mean(name, [f"{layer}.{p}" for p in owned], listing=False)
        b.error(
            "NN206",
            f"{kind} name {name!r} is reserved: names starting with '{layer}.' belong to the "
            f"{op} layer {layer!r} (its params {params} and its internal steps); "
            f"rename the {kind}{hint if kind == 'param' else ''}",
            pointer,
        )


def _fresh(op: str, index: int, *taken: Collection[str]) -> str:
    """An id for a node without one; checks each name set instead of merging them,
    which would make wiring quadratic in the number of nodes."""
    candidate = f"{op}_{index}"
    while any(candidate in names for names in taken):
        candidate += "_"
    return candidate


def _check_arity(b: GraphBuilder, node: WiredNode) -> None:
    if node.op in COMPOSITES:
        expected: tuple[str, ...] = ("x",)
    else:
        expected = REGISTRY[node.op].inputs
    count = len(node.inputs)
    if expected == ("*xs",):
        if count >= 1:
            return
        wanted = "at least 1 input"
    elif count == len(expected):
        return
    else:
        wanted = f"{len(expected)} input(s) ({', '.join(expected)})"
    implied = "" if count else " (an implied input counts as 1)"
    b.error(
        "NN204",
        f'{node.op} node {node.id!r} needs {wanted}, got {count}{implied}; list them in "inputs"',
        node.pointer,
    )


def _infer(b: GraphBuilder, node: WiredNode, declared: Mapping[str, dict]) -> None:
    in_types = [b.types.get(name) or param_type(b, name, declared) for name in node.inputs]
    b.used.update(node.inputs)
    b.types[node.id] = None  # until its check passes; an earlier problem stays quiet
    if any(t is None for t in in_types):
        return
    if node.op in COMPOSITES:
        _check_layer(b, node, COMPOSITES[node.op], in_types[0], declared)  # type: ignore[arg-type]
        return
    op = REGISTRY[node.op]
    attrs = {**attr_defaults(node.op), **node.attrs}
    try:
        out = op.shape(tuple(in_types), **attrs)
    except ShapeError as exc:
        roles = _roles(op.inputs, node.inputs)
        b.error(exc.code, f"node {node.id!r}: {exc.message}{roles}", node.pointer)
        return
    b.checked.append(Node(node.id, node.op, node.inputs, freeze(attrs), out, node.pointer))
    b.types[node.id] = out


def _roles(roles: tuple[str, ...], names: tuple[str, ...]) -> str:
    """`` (a = 'x', b = 'h.W')``: which value played which role in a shape message."""
    if len(roles) < 2 or roles == ("*xs",):
        return ""
    return " (" + ", ".join(f"{r} = {n!r}" for r, n in zip(roles, names, strict=True)) + ")"


def _check_layer(
    b: GraphBuilder, node: WiredNode, comp: Composite, x: TensorType, declared: Mapping[str, dict]
) -> None:
    """A composite node: its params made (declared ones checked against what it needs),
    then its own check; `lower` expands it later."""
    attrs = {**comp.defaults(), **node.attrs}
    try:
        fan_in = comp.fan_in(node.id, x, node.pointer)
    except LayerError as exc:
        b.error(exc.code, exc.message, exc.pointer)
        return
    params = {}
    for suffix, (shape, init) in comp.params(fan_in, attrs).items():
        name = f"{node.id}.{suffix}"
        spec = declared.get(name, {"pointer": node.pointer})
        param = make_param(b, name, spec, shape=shape, default_init=init, owner=node.id)
        if param is None:
            return
        b.params[name] = params[suffix] = param
        b.used.add(name)
    layer = CheckedLayer(node.id, comp, node.inputs[0], x, params, attrs, node.pointer)
    try:
        out = comp.check(layer)
    except LayerError as exc:
        b.error(exc.code, exc.message, exc.pointer)
        return
    b.checked.append((layer, out))
    b.types[node.id] = out


def _outputs(b: GraphBuilder, wired: list[WiredNode]) -> list[str]:
    if "outputs" not in b.doc:
        return [wired[-1].id]
    outputs = []
    for k, name in enumerate(b.doc["outputs"]):
        if name in b.types and name not in b.params:
            outputs.append(name)
            b.used.add(name)
        else:
            known = [w.id for w in wired] + [i for i in b.doc["inputs"]]
            what = (
                "a param; outputs name nodes or inputs"
                if name in b.params
                else ("not a node or input")
            )
            b.error(
                "NN207",
                f"output {name!r} is {what}{did_you_mean(name, known)}",
                pointer_join("outputs", k),
            )
    return outputs


def _warn_unused(
    b: GraphBuilder,
    inputs: Mapping[str, Input],
    declared: Mapping[str, dict],
    outputs: list[str],
    training: Training | None,
) -> None:
    for name in declared:
        if name not in b.used:
            b.problems.append(
                Problem("NN901", f"param {name!r} is never used", declared[name]["pointer"])
            )
    for name, inp in inputs.items():
        if name not in b.used:
            b.problems.append(Problem("NN903", f"input {name!r} is never used", inp.pointer))
    roots = [
        *outputs,
        *([training.loss_node] if training is not None and training.loss_node else []),
    ]
    live = needed_values(b.nodes, roots)
    reported: set[str] = set()
    for node in b.nodes:
        key = node.origin or node.id
        if node.id not in live and key not in live and key not in reported:
            reported.add(key)
            b.problems.append(
                Problem(
                    "NN902", f"node {key!r} does not contribute to any output or loss", node.pointer
                )
            )
