"""The autodiff plan: what reverse mode does on a `Graph`, decided once, in IR terms.

Sits beside `nnspec.ir`, below both engines. The interpreter (`interpreter.plan`)
executes this plan and the code generator (`codegen.train`) prints it, so the two
cannot disagree on any of these decisions:

- which nodes some outputs need (`needed_values`, `needed_nodes`): the one walk the
  checker's unused-node warning, the interpreter's pruning and the generator use;
- which nodes get a VJP, in what order, and which inputs of each want a gradient
  (`gradient_plan`): a gradient flows through a node when its value depends on a
  source, its op has an exact VJP (``gradient == "zero"`` ops such as sign stop the
  flow, as their zero VJP would) and the loss depends on it through such nodes;
  steps run in reverse graph order and fan-out is summed in that order, then input
  order;
- which values the reverse pass touches (`GradientPlan.touched`: they must stay
  alive) and whose contents it reads (`GradientPlan.read`: they must not be written
  over in place), from each op's `OpDef.vjp_reads` / `vjp_reads_out`;
- the roles of the training feeds (`training_roles`): the data inputs and the target;
- the random stream of ops that behave differently while training (`OpDef.training`,
  dropout): `noise_sources` numbers them and `noise_generator` seeds each one's
  generator, afresh for every training step, from (seed, ordinal, step). The
  generated ``--train`` module writes the same ``np.random.default_rng`` call;
- which values may share memory with the caller's inputs or the params
  (`borrowed_values`): both engines return those outputs as copies.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from nnspec.ir import Graph, Node
from nnspec.ops import REGISTRY

NOISE_STREAM = 0xD209
"""Last seed word of every training-noise generator: it keeps the stream apart from
the shuffle's (seeded by the bare training seed) and from the validation split's."""


def needed_values(nodes: Sequence[Node], roots: Iterable[str]) -> set[str]:
    """Every value (node, input or param name) the `roots` depend on, themselves included.

    An iterative walk (graphs may be deep); `nodes` is any node list, such as a
    graph's or one the checker is still building.
    """
    by_id = {n.id: n for n in nodes}
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.add(name)
        node = by_id.get(name)
        if node is not None:
            stack.extend(node.inputs)
    return seen


def borrowed_values(graph: Graph, constants: Iterable[str] = ()) -> frozenset[str]:
    """Values whose arrays may share memory with a graph input, a param, one of
    `constants` (the code generator's folded nodes) or another output: those first
    three themselves and, transitively, the results of view ops (`OpDef.view`, such
    as reshape or transpose) on any of them.

    An engine returns such an output as a copy, so every array it hands out is the
    caller's own: writing into it changes neither the caller's input, nor the model,
    nor another output.
    """
    borrowed = {i.name for i in graph.inputs} | {p.name for p in graph.params}
    borrowed |= set(constants)
    outputs = set(graph.outputs)
    for node in graph.nodes:
        if REGISTRY[node.op].view and any(n in borrowed or n in outputs for n in node.inputs):
            borrowed.add(node.id)
    return frozenset(borrowed)


def needed_nodes(graph: Graph, roots: Iterable[str]) -> list[Node]:
    """The nodes `roots` depend on, in graph (topological) order."""
    live = needed_values(graph.nodes, roots)
    return [n for n in graph.nodes if n.id in live]


@dataclass(frozen=True)
class GradientStep:
    """One node's VJP: `wants[k]` says whether input k receives a gradient."""

    node: Node
    wants: tuple[bool, ...]

    def reads(self) -> tuple[str, ...]:
        """Values whose contents this VJP reads (`OpDef.vjp_reads`, `vjp_reads_out`)."""
        op = REGISTRY[self.node.op]
        names: list[str] = []
        if op.vjp_reads == "values":
            names += self.node.inputs
        elif op.vjp_reads == "other":  # matmul: da = dy @ b.T reads b; db = a.T @ dy reads a
            a, b = self.node.inputs
            names += [name for name, want in ((b, self.wants[0]), (a, self.wants[1])) if want]
        if op.vjp_reads_out:
            names.append(self.node.id)
        return tuple(names)


@dataclass(frozen=True)
class GradientPlan:
    """Reverse mode for one loss: its steps in the order they run, and what they need."""

    loss: str
    nodes: tuple[Node, ...]  # the nodes the loss needs, in graph order
    flows: frozenset[str]  # values a gradient flows through (sources included)
    steps: tuple[GradientStep, ...]  # reverse graph order
    sources: tuple[str, ...]  # the requested sources the loss depends on, in request order

    @property
    def touched(self) -> frozenset[str]:
        """Values the reverse pass uses at all (contents or shape): keep them alive."""
        return frozenset(name for step in self.steps for name in (*step.node.inputs, step.node.id))

    @property
    def read(self) -> frozenset[str]:
        """Values whose contents the reverse pass reads: never write over them in place.

        A value only the shape of is used (an un-broadcast, a mean's count) may be
        written in place: ``out=`` keeps the array's shape.
        """
        return frozenset(name for step in self.steps for name in step.reads())


def gradient_plan(graph: Graph, loss: str, sources: Iterable[str]) -> GradientPlan:
    """The reverse pass of `loss` with respect to `sources` (params or inputs)."""
    nodes = needed_nodes(graph, [loss])
    live = needed_values(nodes, [loss])
    wanted = tuple(name for name in sources if name in live)
    flows = set(wanted)
    for node in nodes:
        if REGISTRY[node.op].gradient == "exact" and any(x in flows for x in node.inputs):
            flows.add(node.id)
    reaches = {loss} & flows  # flowing values the loss is reached from, through flowing nodes
    steps: list[GradientStep] = []
    for node in reversed(nodes):
        if node.id not in reaches:
            continue
        reaches.update(x for x in node.inputs if x in flows)
        steps.append(GradientStep(node, tuple(x in flows for x in node.inputs)))
    return GradientPlan(loss, tuple(nodes), frozenset(flows), tuple(steps), wanted)


def training_roles(graph: Graph, feeds: Sequence[str]) -> tuple[list[str], str | None]:
    """(data inputs, target) among the `feeds` training reads.

    The target is the document's declared one; without one, the single feed the
    loss reads but the training output does not need (none when that is ambiguous).
    """
    training = graph.training
    if training is None:
        return list(feeds), None
    if training.targets:
        target: str | None = training.targets[0].name
    else:
        by_output = needed_values(graph.nodes, [training.output])
        extra = [name for name in feeds if name not in by_output]
        target = extra[0] if len(extra) == 1 else None
    return [name for name in feeds if name != target], target


@dataclass(frozen=True)
class NoiseSource:
    """A node whose op draws noise while training (`OpDef.training`, dropout).

    `seed` is the node's own ``seed`` attribute, or None for the run's seed (the
    training seed, or the one `train` / `fit` are given); `ordinal` numbers the
    graph's noise sources in graph order, so two of them never share a stream.
    """

    node: Node
    seed: int | None
    ordinal: int


def noise_sources(graph: Graph) -> dict[str, NoiseSource]:
    """Every node that draws training noise, by id, in graph order."""
    found: dict[str, NoiseSource] = {}
    for node in graph.nodes:
        if REGISTRY[node.op].training is not None:
            seed = node.attr.get("seed")
            found[node.id] = NoiseSource(node, None if seed is None else int(seed), len(found))
    return found


def noise_generator(seed: int, ordinal: int, step: int) -> np.random.Generator:
    """The generator noise source `ordinal` draws from at training step `step` (0 first).

    Stateless: one generator per (seed, source, step), so a step's mask does not
    depend on what ran before it, and the forward pass and the finite differences of
    a gradient check see the same mask.
    """
    return np.random.default_rng([seed, ordinal, step, NOISE_STREAM])
