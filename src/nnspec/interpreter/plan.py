"""Planning: from a `Graph` to flat step tuples, done once per requested output set.

Sits between `nnspec.ir` and the execution loops (`forward`, `backward`). A plan
fixes everything that does not depend on the input values:

- every named value gets an integer slot in a flat environment list;
- only the nodes the requested outputs (and loss) need are kept, in graph order;
- each op's attributes are bound once (``functools.partial``), so the hot loop
  calls ``fn(*inputs)`` with no per-call dict building;
- which slots the backward pass reads (kept), and which forward values can be
  dropped right after their last use (freed), so inference holds only live values;
- the reverse pass: `nnspec.autodiff.gradient_plan` decides which nodes get a VJP,
  in what order, and which values it touches; this module only binds that plan to
  slots and functions (the code generator prints the same plan).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial

from nnspec.autodiff import GradientPlan, gradient_plan, needed_values
from nnspec.interpreter import kernels
from nnspec.interpreter.forward import straight_line
from nnspec.ir import Graph, Input, Node
from nnspec.ops import REGISTRY

RunStep = tuple[Callable, tuple[int, ...], int, tuple[int, ...], Node]
"""A forward step: (op forward with attrs bound, input slots, output slot, slots to free
after, the node it runs — named when the step fails)."""

RunBackStep = tuple[Callable, tuple[int, ...], int, tuple[bool, ...], Node]
"""A backward step: (op VJP with attrs bound, input slots, output slot, which inputs
want a gradient, the node)."""


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
    run: Callable[[list], list] = field(default=None, compare=False, repr=False)  # type: ignore[assignment]
    """``run(env) -> env``: `steps` as one straight-line function (`forward.straight_line`),
    the one execution path; a failing step is named with its node and JSON pointer."""

    def __post_init__(self) -> None:
        if self.run is None:
            object.__setattr__(self, "run", straight_line(self.steps))


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

    @property
    def size(self) -> int:
        return len(self.slots)

    def needed(self, roots: Iterable[str]) -> set[str]:
        """Every value the `roots` depend on, including themselves (`autodiff.needed_values`)."""
        return needed_values(self.graph.nodes, roots)

    def plan(
        self, outputs: tuple[str, ...], loss: str | None = None, wrt: Iterable[str] = ()
    ) -> RunPlan:
        """A pruned forward plan for `outputs`; with `loss`, also its reverse pass for `wrt`."""
        for name in (*outputs, *([loss] if loss else [])):
            if name not in self.slots:
                raise KeyError(name)
        roots = (*outputs, loss) if loss else outputs
        live = self.needed(roots)
        nodes = [n for n in self.graph.nodes if n.id in live]
        reverse = gradient_plan(self.graph, loss, wrt) if loss else None
        backward, wanted, kept = _reverse(reverse, self.slots)
        keep = kept | {self.slots[name] for name in roots}
        feeds = tuple(f for name, f in self.feeds.items() if name in live)
        return RunPlan(
            steps=_forward(nodes, self.slots, keep),
            feeds=feeds,
            outputs=outputs,
            out_slots=tuple(self.slots[name] for name in outputs),
            backward=backward,
            loss_slot=self.slots[loss] if loss else None,
            wrt=tuple((name, self.slots[name]) for name in wanted),
        )


def _forward(nodes: list[Node], slots: dict[str, int], keep: set[int]) -> tuple[RunStep, ...]:
    """Forward steps; a node's value is freed after its last reader unless `keep` holds it."""
    last_use: dict[int, int] = {}
    for k, node in enumerate(nodes):
        for name in node.inputs:
            last_use[slots[name]] = k
    node_slots = {slots[n.id] for n in nodes}
    free_after: dict[int, list[int]] = {}
    for slot, k in last_use.items():
        if slot in node_slots and slot not in keep:
            free_after.setdefault(k, []).append(slot)
    owned = _owned(nodes, slots)
    into = _inplace(nodes, slots, free_after, owned)
    buffered = _buffered(nodes, slots, keep, into, owned)
    steps = []
    for k, node in enumerate(nodes):
        op = REGISTRY[node.op]
        ins = tuple(slots[name] for name in node.inputs)
        if k in into:
            fn = kernels.inplace_step(node.op, len(ins), ins.index(into[k]))
        elif k in buffered:
            fn = kernels.buffered(op.forward)
        else:
            fn = partial(op.forward, **node.attr) if node.attrs else op.forward
        steps.append((fn, ins, slots[node.id], tuple(sorted(free_after.get(k, ()))), node))
    return tuple(steps)


def _owned(nodes: list[Node], slots: dict[str, int]) -> dict[int, Node]:
    """Slots whose array the plan itself allocated and nothing else can see.

    The producing op returns a fresh array (`kernels.FRESH`), every reader also
    returns fresh arrays (so no view of it exists), and its type has no unknown
    dim (so the array's shape is the type's, never a broadcast surprise).
    """
    readers: dict[int, list[Node]] = {}
    for node in nodes:
        for name in node.inputs:
            readers.setdefault(slots[name], []).append(node)
    return {
        slots[n.id]: n
        for n in nodes
        if n.op in kernels.FRESH
        and n.type.rank >= 1
        and None not in n.type.shape
        and all(r.op in kernels.FRESH for r in readers.get(slots[n.id], ()))
    }


def _inplace(
    nodes: list[Node],
    slots: dict[str, int],
    free_after: dict[int, list[int]],
    owned: dict[int, Node],
) -> dict[int, int]:
    """Step index -> the input slot it may overwrite with its result.

    An input qualifies when it dies at this step, is owned by the plan, is read
    once by the step and has exactly the result's type (same shape and dtype), so
    ``op(a, b, out=a)`` writes the very values ``op(a, b)`` would allocate.
    """
    into: dict[int, int] = {}
    for k, node in enumerate(nodes):
        if node.op not in kernels.INPLACE or node.attrs or len(node.inputs) > 2:
            continue
        ins = [slots[name] for name in node.inputs]
        for slot in ins:
            producer = owned.get(slot)
            if (
                producer is not None
                and slot in free_after.get(k, ())
                and ins.count(slot) == 1
                and producer.type == node.type
            ):
                into[k] = slot
                break
    return into


def _buffered(
    nodes: list[Node],
    slots: dict[str, int],
    keep: set[int],
    into: dict[int, int],
    owned: dict[int, Node],
) -> set[int]:
    """Steps (of `OpDef.reuse_buffer` ops: matmul) whose result may live in a buffer
    reused by the next call.

    The result's memory (and every in-place result written over it) must stay
    inside the plan: owned, never kept for the caller or the backward pass.
    """
    root: dict[int, int] = {}
    for k, node in enumerate(nodes):
        out = slots[node.id]
        root[out] = root.get(into[k], into[k]) if k in into else out
    groups: dict[int, list[int]] = {}
    for slot, r in root.items():
        groups.setdefault(r, []).append(slot)
    return {
        k
        for k, node in enumerate(nodes)
        if REGISTRY[node.op].reuse_buffer
        and all(s in owned and s not in keep for s in groups[slots[node.id]])
    }


def _reverse(
    reverse: GradientPlan | None, slots: dict[str, int]
) -> tuple[tuple[RunBackStep, ...], tuple[str, ...], set[int]]:
    """The autodiff plan bound to slots: backward steps (reverse order), the names
    gradients are returned for (in slot order) and the slots the steps touch."""
    if reverse is None:
        return (), (), set()
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
        vjp = partial(rule, **node.attr) if node.attrs else rule
        steps.append((vjp, tuple(slots[name] for name in node.inputs), slots[node.id], wants, node))
    wanted = tuple(sorted(reverse.sources, key=slots.__getitem__))
    return tuple(steps), wanted, {slots[name] for name in reverse.touched}
