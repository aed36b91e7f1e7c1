"""Code generation, layer one: a `Graph` becomes an emit plan (pure data, no text).

The plan holds generator-owned identifiers, weights encoded as base64 of
little-endian bytes, document strings already turned into safe literals, and one
`EmitStep` per node to render. `render.py` formats the plan; it never sees the graph.

Optimisations are limited to those that keep the result bitwise equal to the
interpreter: nodes the outputs do not need are pruned, nodes of constant params
are folded at compile time with the op's own `forward`, and results go where the
buffer plan (`nnspec.buffers`, which the interpreter follows too) says: an
elementwise op writes into (``out=``) a dead temporary — the same ufunc loop, just
another buffer; chained, that fuses a dense layer's bias add and activation — and a
matrix product whose result never leaves `predict` writes into a workspace buffer
kept per thread and input sizes (``np.matmul(..., out=)``: the same BLAS call). A
param a broadcasting binary ufunc reads at a lower rank than its result (a bias) is
read through a view with leading 1s made once at import (`buffers.rank_matched`, the
interpreter's rule): NumPy's same-rank loop, the same sums.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nnspec import __version__
from nnspec.autodiff import borrowed_values, needed_nodes
from nnspec.buffers import buffer_plan, rank_matched, symbol_axes, workspace
from nnspec.codegen.names import (
    Namer,
    comment,
    literal,
    literal_lines,
    sha256_hex,
    tuple_literal,
    value_literal,
)
from nnspec.ir import Graph, Node, TensorType
from nnspec.ops import REGISTRY

B64_LINE = 76


@dataclass(frozen=True)
class Tensor:
    """An array embedded in the module: identifier, dtype, shape and base64 lines."""

    ident: str
    key: str  # literal of the document name ('' for generator-made arrays)
    dtype: str
    shape: tuple[int, ...]
    b64: tuple[str, ...]
    comment: str = ""
    raw: str = ""  # the document name of a param (the key of its value)


@dataclass(frozen=True)
class EmitPort:
    """An input or output of `predict`: document name (literal) and local identifier."""

    key: str
    ident: str
    dtype: str
    shape: str  # literal tuple; symbolic dims are string literals, unknown dims None
    comment: str


@dataclass(frozen=True)
class EmitStep:
    """One node rendered by the macro `op` of template family `family`."""

    op: str
    family: str
    out: str
    xs: tuple[str, ...]
    attrs: Mapping[str, str]  # attribute name -> Python literal
    values: Mapping[str, Any]  # attribute name -> plain value (ints, bools, tuples)
    into: str  # buffer to write into, or '' for a fresh array
    comment: str
    group: str  # comment line opening a composite layer, or ''
    kept: str = ""  # --train: name for what the step keeps for its VJP (see codegen.train)
    helpers: tuple[str, ...] = ()  # module helpers the macro calls (`OpDef.helpers`)
    zero: str = ""  # `OpDef.ufunc_zero`: the module's 0-d zero of the output dtype (`zeros`)


@dataclass(frozen=True)
class View:
    """A module constant ``ident = source[None, ...]``: param `source` with `lead`
    leading 1s (`buffers.rank_matched`), sharing its memory."""

    ident: str
    source: str
    lead: int


@dataclass
class EmitPlan:
    """Everything `render` needs; built by `plan`."""

    version: str
    name_comment: str
    name_lines: list[str]
    description_lines: list[str]
    metadata: list[tuple[str, list[str]]]
    sha256: str
    inputs: list[EmitPort]
    outputs: list[EmitPort]
    params: list[Tensor]
    consts: list[Tensor]
    steps: list[EmitStep]
    weights_file: str  # literal of the .npz file name, or '' for inline weights
    weights_sha256: str
    self_test_inputs: list[Tensor] = field(default_factory=list)
    self_test_outputs: list[Tensor] = field(default_factory=list)
    train: Any = None  # a `nnspec.codegen.train.TrainPlan` with --train
    idents: dict[str, str] = field(default_factory=dict)  # document name -> identifier
    namer: Namer | None = None  # hands out further identifiers (the training section's)
    fast: list[str] = field(default_factory=list)  # clauses of predict's fast input check
    dtypes: list[str] = field(default_factory=list)  # input dtypes the fast check names
    options: tuple[str, ...] = ()  # the `nnspec compile` flags, recorded in the header
    workspace: list[Buffer] = field(default_factory=list)  # predict's reused buffers
    workspace_key: str = ""  # arguments of ``_workspace``: the inputs' symbolic sizes
    workspace_tuple: str = "()"  # the same sizes as a tuple literal: ``_workspace``'s key
    rows: str = "1"  # predict's rows of work: axis 0 of its first input (as `Model.work`)
    work_per_row: int = 0  # param elements, `Model.weights`: the thread choice's work
    views: list[View] = field(default_factory=list)  # rank-matched views of params


def encode(array: np.ndarray) -> tuple[str, ...]:
    """Base64 lines of the array's little-endian C-order bytes (exact, platform-free)."""
    data = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()
    text = base64.b64encode(data).decode("ascii")
    return tuple(text[i : i + B64_LINE] for i in range(0, len(text), B64_LINE)) or ("",)


def tensor(ident: str, array: np.ndarray, key: str = "", note: str = "") -> Tensor:
    shape = tuple(int(d) for d in array.shape)
    return Tensor(
        ident, literal(key) if key else "", str(array.dtype), shape, encode(array), note, key
    )


def shape_literal(t: TensorType) -> str:
    dims = [literal(d) if isinstance(d, str) else repr(d) for d in t.shape]
    return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"


def attr_literals(node: Node) -> dict[str, str]:
    """Every attribute (defaults filled in) as a Python literal; lists become tuples."""
    attrs = {**REGISTRY[node.op].defaults(), **node.attr}
    return {k: value_literal(v) for k, v in sorted(attrs.items())}


def _plain(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return tuple(_plain(v) for v in value)
    return value


def steps_for(
    nodes: Sequence[Node],
    idents: Mapping[str, str],
    *,
    keep: set[str],
    workspace: Mapping[str, str] | None = None,
    views: Mapping[tuple[str, int], str] | None = None,
) -> list[EmitStep]:
    """Render steps for `nodes`, writing results where `nnspec.buffers` says: over a dead
    input, or (nodes in `workspace`: node id -> buffer expression) into a buffer reused
    across calls. Values in `keep` (outputs, values needed later) are never reused.
    `views`: (node id, input index) -> the rank-matched view that input reads."""
    buffers = buffer_plan(nodes, keep)
    members: dict[str, list[str]] = {}  # composite id -> the ops it became, in order
    for node in nodes:
        if node.origin is not None:
            members.setdefault(node.origin, []).append(node.op)
    steps: list[EmitStep] = []
    last_origin: str | None = None
    for node in nodes:
        op = REGISTRY[node.op]
        into = idents[buffers.into[node.id]] if node.id in buffers.into else ""
        if workspace and node.id in workspace:
            into = workspace[node.id]
        group = ""
        if node.origin is not None and node.origin != last_origin:
            group = f"{comment(node.origin)}: {', '.join(members[node.origin])}"
        last_origin = node.origin
        steps.append(
            EmitStep(
                op=op.macro,
                family=op.family,
                out=idents[node.id],
                xs=tuple(
                    (views or {}).get((node.id, k), idents[name])
                    for k, name in enumerate(node.inputs)
                ),
                attrs=attr_literals(node),
                values={k: _plain(v) for k, v in node.attr.items()},
                into=into,
                comment=f"{comment(node.id)} = {node.op}({_listing(node.inputs)})",
                group=group,
                helpers=op.helpers,
                zero=f"_ZERO_{node.type.dtype}" if op.ufunc_zero is not None else "",
            )
        )
    return steps


def zeros(steps: Sequence[EmitStep]) -> list[tuple[str, str]]:
    """(identifier, dtype literal) of each typed zero `steps` use (`EmitStep.zero`)."""
    used = sorted({s.zero for s in steps if s.zero})
    return [(z, z.removeprefix("_ZERO_")) for z in used]


@dataclass(frozen=True)
class Buffer:
    """One workspace buffer of `predict`: its dtype and shape (a literal whose symbolic
    dims are entries of ``_workspace``'s `sizes`)."""

    dtype: str
    shape: str


def workspace_for(
    nodes: Sequence[Node], keep: set[str], sizes: Mapping[str, str]
) -> tuple[dict[str, str], list[Buffer]]:
    """The workspace of `nodes` (`nnspec.buffers.workspace`): node id -> ``_ws[k]``, and
    buffer k's dtype and shape, whose symbolic dims are entries of ``_workspace``'s
    `sizes` (`sizes` maps each symbol to where predict reads it)."""
    plan = workspace(nodes, keep, sizes)
    chosen = {node_id: f"_ws[{k}]" for k, node_id in enumerate(plan.nodes)}
    buffers = []
    for shape, dtype in zip(plan.shapes, plan.dtypes, strict=True):
        dims = [
            repr(d) if isinstance(d, int) else f"sizes[{plan.symbols.index(str(d))}]" for d in shape
        ]
        buffers.append(Buffer(dtype, "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"))
    return chosen, buffers


def _listing(names: Sequence[str]) -> str:
    return ", ".join(comment(name) for name in names)


def fold(graph: Graph, values: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Values of nodes computable at compile time: every input a constant param or folded node.

    Computed with the op's own `forward`, the call the interpreter makes, so bitwise equal.
    """
    constant = {p.name: values[p.name] for p in graph.params if not p.trainable}
    folded: dict[str, np.ndarray] = {}
    for node in graph.nodes:
        # a training-only op (dropout) is no constant while training: never folded
        if (
            node.inputs
            and REGISTRY[node.op].training is None
            and all(name in constant for name in node.inputs)
        ):
            result = REGISTRY[node.op].forward(
                *(constant[name] for name in node.inputs), **node.attr
            )
            constant[node.id] = folded[node.id] = np.asarray(result)
    return folded


def plan(
    graph: Graph,
    params: Mapping[str, np.ndarray],
    *,
    weights_file: str = "",
    loss: str | None = None,
) -> EmitPlan:
    """The emit plan of `predict` for `graph` with these param values.

    With `loss` (the training loss node), the plan also embeds every trainable param
    and whatever the loss needs, and names the loss path's values in `EmitPlan.idents`.
    """
    names = Namer()
    types = graph.types()
    folded = fold(graph, params)
    nodes = [n for n in needed_nodes(graph, graph.outputs) if n.id not in folded]
    used = {name for n in nodes for name in n.inputs} | set(graph.outputs)
    extra = []  # nodes only the loss needs
    embed = set(used)
    if loss is not None:
        known = {n.id for n in nodes}
        extra = [n for n in needed_nodes(graph, [loss]) if n.id not in folded and n.id not in known]
        embed |= {name for n in extra for name in n.inputs} | {loss}
        embed |= {p.name for p in graph.params if p.trainable}
    idents: dict[str, str] = {}
    inputs = []
    for inp in graph.inputs:
        if inp.name in used:
            idents[inp.name] = names(inp.name)
            inputs.append(port_for(inp.name, idents[inp.name], inp.type))
    param_tensors = []
    for p in graph.params:
        if p.name in embed:
            idents[p.name] = names(p.name, upper=True)
            param_tensors.append(tensor(idents[p.name], params[p.name], p.name, comment(p.name)))
    consts = []
    for node_id, value in folded.items():
        if node_id in embed:
            idents[node_id] = names(node_id, upper=True)
            consts.append(tensor(idents[node_id], value, "", f"{comment(node_id)} (folded)"))
    for node in nodes + extra:
        idents[node.id] = names(node.id)
    used_inputs = [(idents[i.name], i.type) for i in graph.inputs if i.name in used]
    sizes = symbol_sizes(used_inputs)
    keep = set(graph.outputs)
    workspace, buffers = workspace_for(nodes, keep, sizes)
    matched = rank_matched(nodes, {p.name: p.type for p in graph.params if p.name in idents})
    views: list[View] = []
    made: dict[tuple[str, tuple[int, ...]], str] = {}
    for name, shape in sorted(set(matched.values())):
        made[(name, shape)] = ident = names(f"{name}_row", upper=True)
        views.append(View(ident, idents[name], len(shape) - len(types[name].shape)))
    viewed = {at: made[view] for at, view in matched.items()}
    steps = steps_for(nodes, idents, keep=keep, workspace=workspace, views=viewed)
    # An input, a constant or a view of one (or of another output) is returned as a
    # copy: every returned array is fresh.
    shared = borrowed_values(graph, folded)
    outputs = [
        port_for(o, f"{idents[o]}.copy()" if o in shared else idents[o], types[o])
        for o in graph.outputs
    ]
    return EmitPlan(
        version=__version__,
        name_comment=comment(graph.name),
        name_lines=literal_lines(graph.name),
        description_lines=literal_lines(graph.description),
        metadata=[
            (literal(k), literal_lines(_json(v), indent=8)) for k, v in sorted(graph.meta.items())
        ],
        sha256=sha256_hex(graph.source_sha256),
        inputs=inputs,
        outputs=outputs,
        params=param_tensors,
        consts=consts,
        steps=steps,
        weights_file=literal(weights_file) if weights_file else "",
        weights_sha256="",  # `compile` fills it in from the weights file's bytes
        idents=idents,
        namer=names,
        fast=fast_check(used_inputs),
        dtypes=sorted({t.dtype for _, t in used_inputs}),
        workspace=buffers,
        workspace_key=", ".join(sizes.values()) if buffers else "",
        workspace_tuple=tuple_literal(list(sizes.values()) if buffers else []),
        rows=next((f"{ident}.shape[0]" for ident, t in used_inputs if t.rank), "1"),
        work_per_row=sum(p.type.size() or 0 for p in graph.params),
        views=views,
    )


def fast_check(inputs: Sequence[tuple[str, TensorType]]) -> list[str]:
    """Clauses that, all true, mean `_check` would hand every input back unchanged.

    An exact ``np.ndarray`` whose dtype is the very dtype object (``is``), with the
    rank, every fixed dim, and every symbolic dim equal to its first occurrence:
    ``np.asarray`` returns such an array itself and every shape check passes, so
    skipping `_check` changes nothing. Anything else takes `_check` and its errors.
    """
    clauses: list[str] = []
    first = symbol_sizes(inputs)
    for ident, t in inputs:
        clauses += [
            f"type({ident}) is np.ndarray",
            f"{ident}.dtype is _DT_{t.dtype}",
            f"{ident}.ndim == {t.rank}",
        ]
        for axis, dim in enumerate(t.shape):
            here = f"{ident}.shape[{axis}]"
            if isinstance(dim, int):
                clauses.append(f"{here} == {dim}")
            elif isinstance(dim, str) and first[dim] != here:
                clauses.append(f"{here} == {first[dim]}")
    return clauses


def symbol_sizes(inputs: Sequence[tuple[str, TensorType]]) -> dict[str, str]:
    """Each symbolic dim of the inputs -> where predict reads its size,
    ``ident.shape[axis]`` (`nnspec.buffers.symbol_axes`: its first occurrence)."""
    return {dim: f"{ident}.shape[{axis}]" for dim, (ident, axis) in symbol_axes(inputs).items()}


def port_for(name: str, ident: str, t: TensorType) -> EmitPort:
    return EmitPort(literal(name), ident, t.dtype, shape_literal(t), comment(name))


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def add_self_test(
    plan: EmitPlan, graph: Graph, params: Mapping[str, np.ndarray], inputs: Mapping[str, np.ndarray]
) -> None:
    """Store the interpreter's outputs on `inputs` in the plan, for ``--self-test``."""
    used = {literal(i.name) for i in graph.inputs} & {p.key for p in plan.inputs}
    feed = {i.name: inputs[i.name] for i in graph.inputs if literal(i.name) in used}
    outputs = interpreter_outputs(graph, params, feed)
    plan.self_test_inputs = [
        tensor(f"_SELF_TEST_IN_{k}", value, name) for k, (name, value) in enumerate(feed.items())
    ]
    plan.self_test_outputs = [
        tensor(f"_SELF_TEST_OUT_{k}", np.asarray(outputs[name]), name)
        for k, name in enumerate(graph.outputs)
    ]


def interpreter_outputs(
    graph: Graph, params: Mapping[str, np.ndarray], inputs: Mapping[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """What the interpreter computes for `inputs`."""
    from nnspec.interpreter import Model

    with np.errstate(all="ignore"):
        return Model(graph, params).run(inputs)
