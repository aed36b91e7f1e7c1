"""Planning: from a `Graph` to flat step tuples, done once per requested output set.

Sits between `nnspec.ir` and the execution loops (`forward`, `backward`). A plan
fixes everything that does not depend on the input values:

- every named value gets an integer slot in a flat environment list;
- only the nodes the requested outputs (and loss) need are kept, in graph order;
- each op's attributes are bound once (``functools.partial``), so the hot loop
  calls ``fn(*inputs)`` with no per-call dict building;
- which slots the backward pass reads (kept), and which forward values can be
  dropped right after their last use (freed), so inference holds only live values;
- where results are written: `nnspec.buffers` (shared with the code generator) picks
  the steps that write over a dead input (``out=`` that input, `kernels.INPLACE`) or
  into a buffer reused across calls (``out=`` a buffer of `kernels.Workspaces`, all
  fetched at once by the inputs' sizes, as a compiled module does: once per call, or
  per part of a plan of many steps, `forward.in_parts`);
- the reverse pass: `nnspec.autodiff.gradient_plan` decides which nodes get a VJP,
  in what order, and which values it touches; this module only binds that plan to
  slots and functions (the code generator prints the same plan);
- rank-matched operands (`rank_matched`, shared with the code generator): a
  broadcasting binary ufunc reading a param of lower rank than its result (a dense
  layer's ``(N,)`` bias added to ``(rows, N)``) reads a ``(1, N)`` view of it, held in
  a slot of its own (`Layout.views`) filled once per param value — NumPy's same-rank
  loop, half the cost of broadcasting a one-row add, and the very same sums;
- training mode: an op with training-only behaviour (`OpDef.training`, dropout)
  becomes two steps, its noise (drawn from the generator `autodiff.noise_generator`
  seeds from the (seed, step) pair in the environment's `Layout.stream` slot) into
  a slot of its own, then the op applied with it; its VJP reads that noise slot.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np

from nnspec.autodiff import (
    GradientPlan,
    NoiseSource,
    gradient_plan,
    needed_values,
    noise_generator,
    noise_sources,
)
from nnspec.buffers import (
    CotangentBuffers,
    Workspace,
    buffer_plan,
    cotangent_buffers,
    gradient_buffers,
    rank_matched,
    symbol_axes,
    workspace,
)
from nnspec.interpreter import kernels
from nnspec.interpreter.backward import ParamBuffers, buffered_vjp, straight_reverse
from nnspec.interpreter.forward import straight_line
from nnspec.interpreter.inputs import exact_check
from nnspec.ir import Graph, Input, Node, TensorType
from nnspec.ops import REGISTRY
from nnspec.ops.base import TrainingRule

Into = tuple[str, int] | None
"""Where a step writes its result: None, a fresh array; ("input", k), over its k-th
input; ("workspace", j), into buffer j of the plan's workspace."""

RunStep = tuple[Callable, tuple[int, ...], int, tuple[int, ...], Node, Into, tuple[Any, ...]]
"""A forward step: (op forward with attrs bound, input slots, output slot, slots to free
after, the node it runs — named when the step fails, where it writes, constant operands
passed after the inputs — `OpDef.ufunc_zero`'s typed zero)."""

RunBackStep = tuple[
    Callable, tuple[int, ...], int, tuple[bool, ...], Node, tuple[Callable | None, ...]
]
"""A backward step: (op VJP with attrs bound, input slots, output slot, which inputs
want a gradient, the node, per input the ``buffer(dtype)`` its un-broadcast sum writes
into or None)."""


@dataclass(frozen=True)
class RunPlan:
    """What to run for one set of requested values (and, optionally, one loss)."""

    steps: tuple[RunStep, ...]
    feeds: tuple[Input, ...]  # graph inputs / targets the steps read, in declaration order
    outputs: tuple[str, ...]
    out_slots: tuple[int, ...]
    backward: tuple[RunBackStep, ...] = ()
    loss_slot: int | None = None
    wrt: tuple[tuple[str, int], ...] = ()  # (name, slot) of every value a gradient is returned for
    returned: frozenset[int] = frozenset()  # the slots of `wrt`: their cotangents are kept
    training: bool = False  # training-only behaviour (dropout) on: needs the stream slot filled
    key: tuple[tuple[int, int], ...] = ()
    """(slot, axis) of each size the workspace is looked up by (`Workspace.symbols`)."""
    exact: Callable[[Mapping[str, Any]], bool] = field(default=None, compare=False, repr=False)  # type: ignore[assignment]
    """Whether given inputs are exactly `feeds` as `inputs.prepare` would return them
    (`inputs.exact_check`), so a call may skip preparing them."""
    workspaces: kernels.Workspaces | None = field(default=None, compare=False, repr=False)
    param_buffers: ParamBuffers | None = field(default=None, compare=False, repr=False)
    """The params' gradient buffers `backward` writes (`ParamBuffers.holds`)."""
    run: Callable[[list], list] = field(default=None, compare=False, repr=False)  # type: ignore[assignment]
    """``run(env) -> env``: `steps` as straight-line code (`forward.straight_line`, one
    function per part of `forward.PART_STEPS` steps), the one execution path; a failing
    step is named with its node and JSON pointer."""
    reverse: Callable[[list, list], list] = field(default=None, compare=False, repr=False)  # type: ignore[assignment]
    """``reverse(env, cotangents) -> cotangents``: `backward` as straight-line code
    (`backward.straight_reverse`, in parts as `run`), the one way the reverse pass runs."""

    def __post_init__(self) -> None:
        if self.exact is None:
            object.__setattr__(self, "exact", exact_check(self.feeds))
        if self.run is None:
            run = straight_line(self.steps, self.key, self.workspaces)
            object.__setattr__(self, "run", run)
        if self.reverse is None:
            back = straight_reverse(self.backward, self.returned, self.key, self.workspaces)
            object.__setattr__(self, "reverse", back)


class Layout:
    """Slots for every named value of a graph; shared by all plans of one model."""

    def __init__(self, graph: Graph):
        self.graph = graph
        self.feeds: dict[str, Input] = {i.name: i for i in graph.inputs}
        if graph.training is not None:
            self.feeds.update({t.name: t for t in graph.training.targets})
        names = [*self.feeds, *(p.name for p in graph.params), *(n.id for n in graph.nodes)]
        self.slots: dict[str, int] = {name: k for k, name in enumerate(names)}
        self.nodes: dict[str, Node] = {n.id: n for n in graph.nodes}
        self.sources = noise_sources(graph)
        # Slots past the named values: each noise source's noise, what each loss that
        # keeps work for its VJP (`OpDef.keeps`) kept, then the stream.
        self.noise: dict[str, int] = {name: len(names) + k for k, name in enumerate(self.sources)}
        keeping = [n.id for n in graph.nodes if REGISTRY[n.op].keeps is not None]
        past = len(names) + len(self.noise)
        self.kept: dict[str, int] = {name: past + k for k, name in enumerate(keeping)}
        """node id -> the slot its training step's forward writes (value, kept) into."""
        self.stream = past + len(self.kept)
        """The slot holding (seed, step) of a training-mode run, which noise is drawn for."""
        self.matched = rank_matched(graph.nodes, {p.name: p.type for p in graph.params})
        views = sorted(set(self.matched.values()))
        self.views: dict[tuple[str, tuple[int, ...]], int] = {
            view: self.stream + 1 + k for k, view in enumerate(views)
        }
        """(param, shape) -> the slot of the param's rank-matched view (`rank_matched`):
        whoever sets a param's slot sets these too (`Model`)."""

    @property
    def size(self) -> int:
        return self.stream + 1 + len(self.views)

    def needed(self, roots: Iterable[str]) -> set[str]:
        """Every value the `roots` depend on, including themselves (`autodiff.needed_values`)."""
        return needed_values(self.graph.nodes, roots)

    def plan(
        self,
        outputs: tuple[str, ...],
        loss: str | None = None,
        wrt: Iterable[str] = (),
        training: bool = False,
    ) -> RunPlan:
        """A pruned forward plan for `outputs`; with `loss`, also its reverse pass for `wrt`.

        `training` runs each op's training-only behaviour (`OpDef.training`).
        """
        for name in (*outputs, *([loss] if loss else [])):
            if name not in self.slots:
                raise KeyError(name)
        roots = (*outputs, loss) if loss else outputs
        live = self.needed(roots)
        nodes = [n for n in self.graph.nodes if n.id in live]
        reverse = gradient_plan(self.graph, loss, wrt) if loss else None
        noisy = self._noisy(nodes) if training else {}
        # a loss whose VJP runs keeps what that VJP would recompute (`OpDef.keeps`)
        keeping = {
            s.node.id: self.kept[s.node.id]
            for s in (reverse.steps if reverse else ())
            if s.node.id in self.kept and s.node.id not in noisy
        }
        read = reverse.read if reverse else frozenset()
        feeds = tuple(f for name, f in self.feeds.items() if name in live)
        keep = {*read, *roots}
        axes = symbol_axes([(f.name, f.type) for f in feeds])
        step = reverse is not None  # a training step: its values live until the next one
        space = workspace(nodes, keep, axes, step, (p.name for p in self.graph.params))
        types = self.graph.types()
        cotangents = cotangent_buffers(reverse, types, space.symbols) if reverse else None
        if cotangents is not None:
            space = space.with_cotangents(cotangents.steps.values(), types)
        workspaces = kernels.Workspaces(space) if space.shapes else None
        backward, wanted, touched, param_buffers = _reverse(
            reverse, self.slots, (noisy, keeping), types, _stepped(space, cotangents, workspaces)
        )
        alive = touched | {self.slots[name] for name in roots}
        return RunPlan(
            steps=_forward(
                nodes,
                self.slots,
                alive,
                (keep, step),
                (noisy, keeping),
                self.stream,
                space.nodes,
                self._viewed(),
            ),
            feeds=feeds,
            key=tuple((self.slots[axes[s][0]], axes[s][1]) for s in space.symbols),
            workspaces=workspaces,
            outputs=outputs,
            out_slots=tuple(self.slots[name] for name in outputs),
            backward=backward,
            loss_slot=self.slots[loss] if loss else None,
            wrt=tuple((name, self.slots[name]) for name in wanted),
            returned=frozenset(self.slots[name] for name in wanted),
            training=training,
            param_buffers=param_buffers,
        )

    def _viewed(self) -> dict[tuple[str, int], int]:
        """(node id, input index) -> the slot of the rank-matched view that input reads."""
        return {at: self.views[view] for at, view in self.matched.items()}

    def _noisy(self, nodes: list[Node]) -> dict[str, tuple[NoiseSource, int]]:
        """The noise sources among `nodes`, with their noise slots."""
        return {n.id: (self.sources[n.id], self.noise[n.id]) for n in nodes if n.id in self.sources}


def _noise_step(rule: TrainingRule, source: NoiseSource) -> Callable[..., Any]:
    """``step(x, (seed, step)) -> noise``: one source's noise for one training step."""
    attrs = source.node.attr

    def noise(x: Any, stream: tuple[int, int]) -> Any:
        seed, step = stream
        own = seed if source.seed is None else source.seed
        return rule.noise(x, noise_generator(own, source.ordinal, step), **attrs)

    return noise


def _forward(
    nodes: list[Node],
    slots: dict[str, int],
    alive: set[int],
    kept: tuple[set[str], bool],
    training: tuple[dict[str, tuple[NoiseSource, int]], dict[str, int]],
    stream: int,
    workspace: tuple[str, ...],
    viewed: Mapping[tuple[str, int], int] | None = None,
) -> tuple[RunStep, ...]:
    """Forward steps; a node's value is freed after its last reader unless `alive` holds
    it, and results go where `nnspec.buffers` says (`kept`: values it must not reuse,
    and whether this is a training step's pass; `workspace`: the nodes of the plan's
    workspace, buffer k for the k-th; `viewed`: (node id, input index) -> the slot of a
    rank-matched view the step reads instead).

    `training` = (noisy, keeping). A node in `noisy` (training mode) becomes two steps:
    its noise into its noise slot (kept: the VJP reads it), then the op's training rule
    applied with it. A node in `keeping` (a loss with `OpDef.keeps` whose VJP runs)
    becomes two steps too: (value, kept) into its kept slot, then the value from there.
    """
    noisy, keeping = training
    last_use: dict[int, int] = {}
    for k, node in enumerate(nodes):
        for name in node.inputs:
            last_use[slots[name]] = k
    node_slots = {slots[n.id] for n in nodes}
    free_after: dict[int, list[int]] = {}
    for slot, k in last_use.items():
        if slot in node_slots and slot not in alive:
            free_after.setdefault(k, []).append(slot)
    into = buffer_plan(nodes, *kept).into
    buffer = {name: k for k, name in enumerate(workspace)}
    steps: list[RunStep] = []
    for k, node in enumerate(nodes):
        op = REGISTRY[node.op]
        ins = tuple(
            (viewed or {}).get((node.id, k), slots[name]) for k, name in enumerate(node.inputs)
        )
        fn: Callable[..., Any]
        where: Into = None
        consts: tuple[Any, ...] = ()
        if node.id in noisy:
            rule = op.training
            assert rule is not None  # noise sources are the ops with a training rule
            source, slot = noisy[node.id]
            steps.append((_noise_step(rule, source), (ins[0], stream), slot, (), node, None, ()))
            fn, ins = partial(rule.apply, **node.attr), (ins[0], slot)
        elif node.id in keeping:
            assert op.keeps is not None
            steps.append(
                (_keeping(op.keeps[0], node.attr), ins, keeping[node.id], (), node, None, ())
            )
            fn, ins = _FIRST, (keeping[node.id],)
        elif op.ufunc_zero is not None:  # the ufunc itself, a typed zero (a compiled module's)
            fn, consts = op.ufunc_zero, (np.zeros((), node.type.dtype),)
            if node.id in into:
                where = ("input", node.inputs.index(into[node.id]))
            elif node.id in buffer:  # a training step's elementwise result (`buffers`)
                where = ("workspace", buffer[node.id])
        elif node.id in into:
            fn, where = kernels.INPLACE[node.op], ("input", node.inputs.index(into[node.id]))
        elif node.id in buffer:
            fn = op.forward if op.reuse_buffer else kernels.INPLACE[node.op]
            where = ("workspace", buffer[node.id])
        else:
            fn = partial(op.forward, **node.attr) if node.attrs else op.forward
        free = tuple(sorted(free_after.get(k, ())))
        steps.append((fn, ins, slots[node.id], free, node, where, consts))
    return tuple(steps)


_FIRST = operator.itemgetter(0)
"""A kept slot's [value, kept] -> the value."""


def _keeping(forward: Callable[..., tuple], attrs: Mapping[str, Any]) -> Callable[..., list]:
    """``forward(*xs, **attrs)`` (`OpDef.keeps`) as [value, kept], for the kept slot."""

    def keep(*xs: Any) -> list:
        return list(forward(*xs, **attrs))

    return keep


def _kept_vjp(vjp: Callable[..., tuple]) -> Callable[..., tuple]:
    """``vjp(dy, *xs, kept, ...)`` called with the kept slot's [value, kept] last. The
    VJP consumes what was kept (it writes over it), so the slot lets go of it: the rest
    of the reverse pass does not hold it."""

    def rule(dy: Any, *xs: Any, out: Any, **attrs: Any) -> tuple:
        held = xs[-1]
        kept, held[1] = held[1], None
        return (*vjp(dy, *xs[:-1], kept, out=out, **attrs), None)

    return rule


Stepped = tuple[Mapping[tuple[str, int], Callable[[Any], np.ndarray]], frozenset[str]]
"""A reverse pass's cotangent buffers bound to a plan's workspace: (node id, input
position) -> ``buffer(dtype)`` of its step buffer; the nodes whose VJP writes over
their own cotangent (`nnspec.buffers.CotangentBuffers`)."""


def _stepped(
    space: Workspace, cotangents: CotangentBuffers | None, workspaces: kernels.Workspaces | None
) -> Stepped:
    """`cotangents` bound to the buffers of `workspaces`, which holds `space`'s."""
    if cotangents is None or workspaces is None:
        return {}, frozenset()
    assert space.cotangents == tuple(cotangents.steps.values())  # in this order
    first = len(space.nodes)  # the cotangents' buffers follow the forward values'
    at = {place: workspaces.provider(first + j) for j, place in enumerate(cotangents.steps)}
    return at, cotangents.into


def _reverse(
    reverse: GradientPlan | None,
    slots: dict[str, int],
    training: tuple[dict[str, tuple[NoiseSource, int]], dict[str, int]],
    types: Mapping[str, TensorType],
    stepped: Stepped,
) -> tuple[tuple[RunBackStep, ...], tuple[str, ...], set[int], ParamBuffers | None]:
    """The autodiff plan bound to slots: backward steps (reverse order), the names
    gradients are returned for (in slot order), the slots the steps touch and the
    params' gradient buffers the steps write.

    `training` = (noisy, keeping). A node in `noisy` runs its training rule's VJP on
    (x, noise): the noise slot is one more input, which wants no gradient; a node in
    `keeping` runs `OpDef.keeps`' VJP with its kept slot as that one more input.
    Params' gradients go into the
    buffers `nnspec.buffers.gradient_buffers` plans (`backward.ParamBuffers`), and the
    cotangents `stepped` names into their step buffers, or over the VJP's own dead
    cotangent (`OpDef.vjp_into`)."""
    if reverse is None:
        return (), (), set(), None
    noisy, keeping = training
    into_step, over_own = stepped
    plan = gradient_buffers(reverse, types)
    held = ParamBuffers()
    steps: list[RunBackStep] = []
    for step in reverse.steps:
        node, wants = step.node, step.wants
        op = REGISTRY[node.op]
        # only ops with gradient == "exact" flow, and those all define a VJP
        assert op.vjp is not None, node.op
        rule = op.vjp
        if op.vjp_halves and wants.count(True) == 1:
            # e.g. x @ W with x data: skip the product that only x's gradient needs
            rule = op.vjp_halves[wants.index(True)]
        buffer = {
            k: held.provider(name, _known(types[name].shape))
            if (node.id, k) in plan.product
            else into_step[(node.id, k)]
            for k, name in enumerate(node.inputs)
            if (node.id, k) in plan.product or (node.id, k) in into_step
        }
        if buffer and node.id not in noisy:
            rule = buffered_vjp(op.vjp_halves, op.vjp_buffered, wants, buffer)
        elif node.id in over_own:
            assert op.vjp_into is not None  # `cotangent_buffers` chose it by that
            rule = op.vjp_into
        ins = tuple(slots[name] for name in node.inputs)
        if node.id in noisy:
            assert op.training is not None
            rule, ins, wants = op.training.vjp, (*ins, noisy[node.id][1]), (*wants, False)
        elif node.id in keeping:
            assert op.keeps is not None
            rule, ins, wants = _kept_vjp(op.keeps[1]), (*ins, keeping[node.id]), (*wants, False)
        vjp = partial(rule, **node.attr) if node.attrs else rule
        sums = tuple(
            held.provider(name, _known(types[name].shape)) if (node.id, k) in plan.summed else None
            for k, name in enumerate(node.inputs)
        ) + ((None,) if node.id in noisy or node.id in keeping else ())
        steps.append((vjp, ins, slots[node.id], wants, node, sums))
    wanted = tuple(sorted(reverse.sources, key=slots.__getitem__))
    return tuple(steps), wanted, {slots[name] for name in reverse.touched}, held


def _known(shape: tuple[Any, ...]) -> tuple[int, ...]:
    """A shape the gradient buffer plan only gives when every dim is known."""
    return tuple(int(d) for d in shape)
