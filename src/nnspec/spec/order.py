"""Topological order of document nodes: iterative, ties broken by document order.

A node may name a node that comes later in the list; only cycles are errors,
and each cycle is reported once with its members in order.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from typing import Protocol, TypeVar

from nnspec.errors import Problem


class _Orderable(Protocol):
    index: int
    id: str
    inputs: tuple[str, ...]
    pointer: str


W = TypeVar("W", bound=_Orderable)


def topological_order(nodes: Sequence[W], problems: list[Problem]) -> list[W] | None:
    """Nodes sorted so every node follows its inputs, or None after reporting cycles."""
    by_id = {n.id: n for n in nodes}
    users: dict[str, list[W]] = {n.id: [] for n in nodes}
    waiting = {}
    for node in nodes:
        deps = {name for name in node.inputs if name in by_id}
        waiting[node.id] = len(deps)
        for name in deps:
            users[name].append(node)
    ready = [(n.index, n.id) for n in nodes if waiting[n.id] == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        _, node_id = heapq.heappop(ready)
        order.append(by_id[node_id])
        for user in users[node_id]:
            waiting[user.id] -= 1
            if waiting[user.id] == 0:
                heapq.heappush(ready, (user.index, user.id))
    if len(order) == len(nodes):
        return order
    stuck = {n.id for n in nodes} - {n.id for n in order}
    for cycle in _cycles(stuck, by_id):
        first = by_id[cycle[0]]
        path = " -> ".join(repr(c) for c in [*cycle, cycle[0]])
        problems.append(Problem("NN203", f"the graph has a cycle: {path}", first.pointer))
    return None


def _cycles(stuck: set[str], by_id: Mapping[str, _Orderable]) -> list[list[str]]:
    """One cycle per strongly tangled group, found by walking inputs until a repeat."""
    cycles = []
    seen: set[str] = set()
    for start in sorted(stuck, key=lambda i: by_id[i].index):
        if start in seen:
            continue
        walk: list[str] = []
        position: dict[str, int] = {}
        current = start
        while current not in position and current not in seen:
            position[current] = len(walk)
            walk.append(current)
            current = next(i for i in by_id[current].inputs if i in stuck)
        seen.update(walk)
        if current in position:
            cycle = walk[position[current] :]
            pivot = min(range(len(cycle)), key=lambda k: by_id[cycle[k]].index)
            # Walking inputs goes against the data flow; reverse to read in flow order.
            ordered = cycle[pivot:] + cycle[:pivot]
            cycles.append([ordered[0], *reversed(ordered[1:])])
    return cycles
