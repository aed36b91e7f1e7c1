"""Code generation for ``--train``: the loss, its reverse pass and the optimizer, as data.

Sits beside `emit` (layer one): `train_plan` turns a graph with a training loss into
a `TrainPlan` that ``templates/train.py.j2`` formats. It prints the autodiff plan
the interpreter executes (`nnspec.autodiff.gradient_plan`: which nodes get a VJP, in
what order, which inputs want a gradient, which values the reverse pass reads, the
training feeds' roles), so the generated gradients are bitwise the interpreter's:

- each step renders the op's ``<op>_vjp`` macro, the textual twin of its `vjp`;
- fan-out is summed in the interpreter's order (reverse node order, then input
  order), ``d = d + g``, never in place (a VJP may hand the same array to two inputs);
- `_unbroadcast` (the twin of `backward.unbroadcast`) is applied unless the
  gradient's shape provably equals the value's; on equal shapes it is the identity,
  which is why applying it conservatively keeps bitwise equality;
- an op with training-only behaviour (`OpDef.training`, dropout) renders its
  ``<op>_train`` / ``<op>_train_vjp`` macros, drawing its noise from the generator
  `nnspec.autodiff.noise_generator` seeds, written out as the same call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

from nnspec.autodiff import NOISE_STREAM, gradient_plan, noise_sources, training_roles
from nnspec.buffers import (
    CotangentBuffers,
    buffer_plan,
    cotangent_buffers,
    gradient_buffers,
    symbol_axes,
)
from nnspec.codegen.emit import EmitPlan, EmitPort, EmitStep, attr_literals, port_for, steps_for
from nnspec.codegen.names import Namer, comment, literal, tuple_literal
from nnspec.codegen.update import (
    ScheduleCode,
    UpdateCode,
    penalty_lines,
    schedule_code,
    update_code,
)
from nnspec.interpreter.stopping import SETTINGS as STOPPING_SETTINGS
from nnspec.interpreter.stopping import EarlyStopping
from nnspec.ir import Dim, Graph, Node, TensorType
from nnspec.ops import REGISTRY


@dataclass(frozen=True)
class Add:
    """Accumulate one VJP result `grad` into the cotangent `target` of value `value`."""

    target: str
    grad: str
    value: str
    unbroadcast: bool
    first: bool
    axes: str = ""  # when set, the un-broadcast is known to be ``grad.sum(axis=axes)``
    buffer: str = ""  # the param (literal, shape) whose gradient buffer the sum writes


@dataclass(frozen=True)
class EmitBackStep:
    """One node's VJP, rendered by macro `op` (``<op>_vjp``) of template `family`."""

    op: str
    family: str
    dy: str
    out: str
    xs: tuple[str, ...]
    gs: tuple[str, ...]  # identifier receiving each input's gradient; '' when not wanted
    attrs: Mapping[str, str]  # attribute literals, defaults filled in
    facts: Mapping[str, str]  # literals the generator works out at compile time
    adds: tuple[Add, ...]
    comment: str
    into: str = ""  # the cotangent `dy` when the VJP may write its result into it
    kept: str = ""  # what the forward step kept for this VJP (`_share_loss_work`)
    helpers: tuple[str, ...] = ()  # module helpers the macro calls (`OpDef.vjp_helpers`)
    buffers: tuple[str, ...] = ()  # per input: the param (literal, shape) whose gradient
    # buffer the VJP writes that input's gradient into (`OpDef.vjp_buffered`), or ''
    steps: tuple[str, ...] = ()  # per input: else the step buffer (``_tw[k]``) it writes
    # that gradient into (`OpDef.vjp_buffered` too), or ''


@dataclass(frozen=True)
class Trainable:
    key: str  # literal of the document param name
    ident: str  # the module constant holding it
    grad: str  # identifier of its gradient, or '' when no gradient reaches it
    read: bool  # whether the loss depends on it (else it gets no gradient, as in nnspec)
    penalty: tuple[str, ...] = ()  # statements adding its L1/L2 penalty to loss and gradient


@dataclass
class TrainPlan:
    """Everything ``train.py.j2`` needs."""

    loss_key: str
    loss: str
    seed: str  # identifier of the loss's cotangent
    feeds: list[EmitPort]  # what the loss reads: inputs, then targets, in document order
    features: list[str]  # literals of the data inputs `fit` takes as x
    target: str  # literal of the target `fit` takes as y, or 'None'
    params: list[Trainable]
    forward: list[EmitStep]
    backward: list[EmitBackStep]
    optimizer: UpdateCode
    schedule: ScheduleCode | None
    epochs: int
    batch_size: str
    seed_value: int
    validation_split: str  # literal: the document's share, or None
    early_stopping: tuple[tuple[str, str], ...] | None  # (key, literal) with defaults filled in
    stopping_defaults: tuple[tuple[str, str], ...]  # the interpreter's defaults, as literals
    noise: bool = False  # some op draws training noise (dropout): the hot path takes a step
    gradient_buffers: bool = False  # some gradient lands in a planned buffer
    step_buffers: tuple[StepBuffer, ...] = ()  # `_train_workspace`'s buffers, in order
    step_key: str = ""  # arguments of ``_train_workspace``: the feeds' symbolic sizes
    step_symbols: tuple[str, ...] = ()  # literals of the symbols those sizes are, in order


@dataclass(frozen=True)
class StepBuffer:
    """One buffer of the training step's workspace: dtype and shape literals (a symbolic
    dim is its name's literal, looked up among ``_train_workspace``'s sizes), and what
    it holds (a comment)."""

    dtype: str
    shape: str
    holds: str


def loss_node(graph: Graph) -> str:
    """The id of the graph's training loss node; ValueError when it has none."""
    training = graph.training
    if training is None or training.loss_node is None:
        raise ValueError(
            f"graph {graph.name!r} has no training loss; add a 'training' section with a loss "
            "to compile it with train=True"
        )
    return training.loss_node


def train_plan(graph: Graph, plan: EmitPlan) -> TrainPlan:
    """The training section's plan; `plan` must come from ``emit.plan(..., loss=...)``."""
    loss = loss_node(graph)
    training = graph.training
    assert training is not None and plan.namer is not None
    names, idents, types = plan.namer, plan.idents, graph.types()
    consts = {t.ident for t in plan.consts}  # folded nodes: module constants
    reverse = gradient_plan(graph, loss, [p.name for p in graph.params if p.trainable])
    nodes = [n for n in reverse.nodes if idents[n.id] not in consts]
    flows = set(reverse.flows)
    feeds = _feeds(graph, nodes, idents, names)
    grads: dict[str, str] = {}
    if loss in flows:
        grads[loss] = names(f"d_{idents[loss]}")
    temps: list[str] = []
    planned = gradient_buffers(reverse, types)
    places = {
        key: (kind, f"{literal(name)}, {tuple(types[name].shape)!r}")
        for kind, found in (("product", planned.product), ("summed", planned.summed))
        for key, name in found.items()
    }
    keep = set(reverse.read) | {loss}
    sizes = symbol_axes([(idents[name], types[name]) for name in _feed_names(graph, nodes)])
    stepped = StepPlan(tuple(sizes))
    cotangents = cotangent_buffers(reverse, types, sizes)
    ws = {}
    for node_id in step_workspace(nodes, keep):
        slot = stepped.add(types[node_id], comment(node_id))
        if slot:
            ws[node_id] = slot
    backward = [
        _back_step(
            step.node, types, idents, grads, flows, names, temps, places, cotangents, stepped
        )
        for step in reverse.steps
    ]
    forward = steps_for(nodes, idents, keep=keep, workspace=ws)
    _share_loss_work(nodes, forward, backward, idents, names)
    noise = _draw_noise(graph, nodes, forward, backward, idents, names)
    features, target = training_roles(graph, _feed_names(graph, nodes))
    read = {x for n in nodes for x in n.inputs}
    regularized = {r.param: r for r in training.regularizers}
    total = names("penalty") if regularized else ""
    params = []
    for p in graph.params:
        if not p.trainable:
            continue
        ident, grad, reg = idents[p.name], grads.get(p.name, ""), regularized.get(p.name)
        lines: list[str] = []
        if reg is not None:  # the checker made sure the loss reads it
            if not grad:  # no gradient reaches it: the penalty's goes on zeros, as in nnspec
                grad = names(f"d_{ident}")
                lines.append(f"{grad} = np.zeros_like({ident})")
            buffers = names(f"{ident}_buffers")
            lines += penalty_lines(reg, (ident, grad, buffers), idents[loss], total)
        params.append(Trainable(literal(p.name), ident, grad, p.name in read, tuple(lines)))
    return TrainPlan(
        loss_key=literal(loss),
        loss=idents[loss],
        seed=grads.get(loss, ""),
        feeds=feeds,
        features=[literal(name) for name in features],
        target="None" if target is None else literal(target),
        params=params,
        forward=forward,
        backward=backward,
        optimizer=update_code(training.optimizer),
        schedule=schedule_code(training.schedule),
        epochs=int(training.epochs),
        batch_size=repr(training.batch_size),
        seed_value=int(training.seed),
        validation_split=repr(training.validation_split),
        early_stopping=_early_stopping(training.early_stopping),
        stopping_defaults=_early_stopping({}) or (),
        noise=noise,
        gradient_buffers=bool(places),
        step_buffers=tuple(stepped.buffers),
        step_key=", ".join(f"{ident}.shape[{axis}]" for ident, axis in sizes.values()),
        step_symbols=tuple(literal(d) for d in sizes),
    )


EARLY_STOPPING_DEFAULTS = {
    f.name: f.default for f in fields(EarlyStopping) if f.name in STOPPING_SETTINGS
}
"""The interpreter's early-stopping defaults, which the module's `fit` uses too."""


def _early_stopping(settings: Mapping[str, Any] | None) -> tuple[tuple[str, str], ...] | None:
    """The document's early-stopping settings as literals, defaults filled in."""
    if settings is None:
        return None
    merged = {**EARLY_STOPPING_DEFAULTS, **settings}
    return tuple((key, literal(v) if isinstance(v, str) else repr(v)) for key, v in merged.items())


def _feed_names(graph: Graph, nodes: Sequence[Node]) -> list[str]:
    """Inputs, then targets, in document order, that `nodes` read."""
    read = {x for n in nodes for x in n.inputs}
    declared = list(graph.inputs) + list(graph.training.targets if graph.training else ())
    return [feed.name for feed in declared if feed.name in read]


def _feeds(
    graph: Graph, nodes: Sequence[Node], idents: dict[str, str], names: Namer
) -> list[EmitPort]:
    types = graph.types()
    ports = []
    for name in _feed_names(graph, nodes):
        if name not in idents:
            idents[name] = names(name)
        ports.append(port_for(name, idents[name], types[name]))
    return ports


def _back_step(
    node: Node,
    types: Mapping[str, TensorType],
    idents: dict[str, str],
    grads: dict[str, str],
    flows: set[str],
    names: Namer,
    temps: list[str],
    places: Mapping[tuple[str, int], tuple[str, str]],
    cotangents: CotangentBuffers,
    stepped: StepPlan,
) -> EmitBackStep:
    """One node's VJP; `places` (`nnspec.buffers.gradient_buffers`: (node, input) ->
    ("product" or "summed", the param's literal and shape as text)) says which inputs'
    gradients go into a param's buffer, written by the VJP or by the sum; `cotangents`
    (`nnspec.buffers.cotangent_buffers`) which go into a step buffer, and whether the
    VJP writes over its own cotangent."""

    def place(k: int, kind: str) -> str:
        found = places.get((node.id, k))
        return found[1] if found is not None and found[0] == kind else ""

    op = REGISTRY[node.op]
    shapes = _grad_shapes(node, types)
    gs: list[str] = []
    adds: list[Add] = []
    steps = [""] * len(node.inputs)
    for k, x in enumerate(node.inputs):
        if x not in flows:
            gs.append("")
            continue
        value_shape = types[x].shape
        exact = shapes[k] == value_shape and None not in value_shape
        first = x not in grads
        if first:
            grads[x] = names(f"d_{idents[x]}")
        if first and exact:
            gs.append(grads[x])
            if (node.id, k) in cotangents.steps:  # the product makes this cotangent alone
                steps[k] = stepped.add(types[x], f"d {comment(x)}")
            continue
        while len(temps) <= k:
            temps.append(names("grad"))
        gs.append(temps[k])
        axes = _summed_axes(shapes[k], value_shape) if not exact else ""
        adds.append(Add(grads[x], temps[k], idents[x], not exact, first, axes, place(k, "summed")))
    dy = grads[node.id]
    into = dy if node.id in cotangents.into else ""
    return EmitBackStep(
        op=f"{op.macro}_vjp",
        family=op.family,
        dy=dy,
        out=idents[node.id],
        xs=tuple(idents[x] for x in node.inputs),
        gs=tuple(gs),
        attrs=attr_literals(node),
        facts={**_facts(node, types, idents[node.inputs[0]]), **_transposes(node, types, idents)},
        adds=tuple(adds),
        into=into,
        helpers=op.vjp_helpers,
        buffers=tuple(place(k, "product") for k in range(len(node.inputs))),
        steps=tuple(steps) if any(steps) else (),
        comment=f"d {comment(node.id)} = {node.op}({', '.join(comment(x) for x in node.inputs)})",
    )


class StepPlan:
    """The training step's workspace, planned as the steps are: one buffer (``_tw[k]``)
    per chain of values written into it (a product and what is computed over it in
    place, a cotangent and the VJP written into it); no two chains share one."""

    def __init__(self, symbols: tuple[str, ...]) -> None:
        self.symbols = symbols  # the feeds' symbolic dims: ``_train_workspace``'s key
        self.buffers: list[StepBuffer] = []

    def add(self, t: TensorType, holds: str) -> str:
        """``_tw[k]`` for a new buffer of type `t`; '' when the feeds' sizes do not fix
        its shape (the value then keeps allocating)."""
        if not all(isinstance(d, int) or d in self.symbols for d in t.shape):
            return ""
        shape = tuple_literal([literal(d) if isinstance(d, str) else repr(d) for d in t.shape])
        self.buffers.append(StepBuffer(literal(t.dtype), shape, holds))
        return f"_tw[{len(self.buffers) - 1}]"


def step_workspace(nodes: Sequence[Node], keep: set[str]) -> list[str]:
    """The products (`OpDef.reuse_buffer`) of a training step's forward pass that may
    write into the step's workspace, in node order: those of the interpreter's step
    plan (`nnspec.buffers.buffer_plan` with ``step=True``, `keep` what the reverse
    pass reads and the loss), whose memory, with every value written over it in
    place, is owned. The loss, a scalar, never is."""
    plan = buffer_plan(nodes, keep, step=True)
    return [n.id for n in nodes if n.id in plan.workspace and REGISTRY[n.op].reuse_buffer]


def _share_loss_work(
    nodes: Sequence[Node],
    forward: list[EmitStep],
    backward: list[EmitBackStep],
    idents: dict[str, str],
    names: Namer,
) -> None:
    """Pair each differentiated op with `OpDef.kept` with its VJP through a kept value.

    Such a loss's training forward keeps what its VJP would recompute (cross_entropy:
    the one-hot target, e^(x - max) and its row sums), through the helpers it names.

    The VJP then reuses the forward's arrays instead of recomputing them: the same
    values from the same NumPy calls, so the gradient is bitwise the same.
    """
    by_out = {step.out: k for k, step in enumerate(backward)}
    for k, (node, step) in enumerate(zip(nodes, forward, strict=True)):
        kept = REGISTRY[node.op].kept
        if kept and step.out in by_out:
            name = names(f"{idents[node.id]}_kept")
            forward[k] = replace(step, kept=name, helpers=kept[:1])
            j = by_out[step.out]
            backward[j] = replace(backward[j], kept=name, helpers=kept[1:])


def _draw_noise(
    graph: Graph,
    nodes: Sequence[Node],
    forward: list[EmitStep],
    backward: list[EmitBackStep],
    idents: dict[str, str],
    names: Namer,
) -> bool:
    """Render each noise source among `nodes` (dropout) in its training form; True if any.

    Its forward step keeps the noise under a name of its own and its VJP reads it, as
    the interpreter's noise slot; the generator is seeded with the words
    `autodiff.noise_generator` uses: the node's seed (or the run's, ``_seed``), its
    ordinal, the step (``_step``) and `NOISE_STREAM`.
    """
    sources = noise_sources(graph)
    by_out = {step.out: k for k, step in enumerate(backward)}
    found = False
    for k, (node, step) in enumerate(zip(nodes, forward, strict=True)):
        source = sources.get(node.id)
        if source is None:
            continue
        found = True
        op = REGISTRY[node.op]
        assert op.training is not None  # noise sources are the ops with a training rule
        seed = "_seed" if source.seed is None else repr(source.seed)
        stream = f"[{seed}, {source.ordinal}, _step, 0x{NOISE_STREAM:X}]"
        name = names(f"{idents[node.id]}_noise")
        forward[k] = replace(
            step,
            op=f"{op.macro}_train",
            attrs={**step.attrs, "stream": stream},
            kept=name,
            helpers=op.training.helpers,
        )
        if step.out in by_out:
            j = by_out[step.out]
            backward[j] = replace(backward[j], op=f"{op.macro}_train_vjp", kept=name)
    return found


def _transposes(
    node: Node, types: Mapping[str, TensorType], idents: Mapping[str, str]
) -> dict[str, str]:
    """The matmul VJP's ``np.swapaxes(v, -1, -2)`` of each input; ``v.T`` for a matrix.

    On a rank-2 array both are the same view (same memory, same strides), so the
    matrix product gets the same operands; ``.T`` skips a function call.
    """
    if not REGISTRY[node.op].vjp_transposes:
        return {}
    out = {}
    for key, name in zip(("a_t", "b_t"), node.inputs, strict=True):
        ident = idents[name]
        out[key] = f"{ident}.T" if types[name].rank == 2 else f"np.swapaxes({ident}, -1, -2)"
    return out


def _summed_axes(grad: tuple[Dim, ...] | None, value: tuple[Dim, ...]) -> str:
    """`_unbroadcast`'s work worked out at compile time, when the shapes decide it.

    A value whose dims are all known and none is 1 stretches no axis, so
    `_unbroadcast` only sums the leading axes NumPy added: ``grad.sum(axis=(0, ...))``,
    the call it would make. '' when that depends on runtime sizes (or is nothing).
    """
    if grad is None or not all(isinstance(d, int) and d != 1 for d in value):
        return ""
    extra = len(grad) - len(value)
    return repr(tuple(range(extra))) if extra > 0 else ""


def _grad_shapes(node: Node, types: Mapping[str, TensorType]) -> tuple:
    """The shape each input's VJP result has, when known (None: unknown)."""
    return REGISTRY[node.op].grad_shapes(node.type, tuple(types[x] for x in node.inputs))


def _facts(node: Node, types: Mapping[str, TensorType], x_ident: str) -> dict[str, str]:
    """Compile-time values the VJP macros use (`OpDef.vjp_facts`), as literals.

    Reduced ``axes`` also give ``count``: the product of their runtime sizes, as the
    interpreter's ``int(np.prod(...))`` of the same shape entries.
    """
    op = REGISTRY[node.op]
    if op.vjp_facts is None:
        return {}
    attrs: dict[str, Any] = {**op.defaults(), **node.attr}
    values = op.vjp_facts(tuple(types[x] for x in node.inputs), **attrs)
    facts = {k: repr(v) for k, v in values.items()}
    if "axes" in values:
        dims = [f"{x_ident}.shape[{a}]" for a in values["axes"]]
        facts["count"] = " * ".join(dims) if dims else "1"
    return facts
