"""The forward pass: a plan's steps as straight-line Python code.

Sits after `plan`: each step is (bound op forward, input slots, output slot, slots to
free, node, where it writes, constant operands after the inputs). `straight_line` turns
the steps into one function doing exactly those reads, calls, writes and frees in order
— the interpreter's per-node overhead becomes one call, and a step writing into a buffer
is the ufunc or product itself with ``out=`` (no wrapper), its workspace fetched once at
the top, as a compiled module's ``_predict`` does — and that function is the only way a
plan runs, whatever its size (one function per `PART_STEPS` steps, run in order,
each fetching the workspace at its top: `in_parts`). Its source is made only of slot
numbers and generated names (nothing from the document). A failure inside any step is
re-raised naming the step's node: its id, op and JSON pointer (`located`), found from
the traceback's line in the function, which catches in its own frame
(`located_function`, which the reverse pass's functions use too).
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nnspec.interpreter.plan import RunStep
    from nnspec.ir import Node

SOURCE = "<nnspec plan>"
MAX_INLINE_ARGS = 64
"""Inputs a step names inline; a step with more reads them from a tuple of slots, so
the compiled plan's size (and the time to compile it) does not grow with them."""


def straight_line(
    steps: tuple[RunStep, ...],
    key: tuple[tuple[int, int], ...] = (),
    workspaces: Callable[[tuple[int, ...]], list[Any]] | None = None,
) -> Callable[[list[Any]], list[Any]]:
    """A function ``run(env) -> env`` running `steps` on `env` in order; steps writing
    into the workspace use ``workspaces(key)``, `key` being the sizes at (slot, axis)."""
    nodes = [step[4] for step in steps]

    def part(start: int, stop: int) -> Callable[..., Any]:
        namespace: dict[str, Any] = {"ws": workspaces}
        lines: list[str] = []
        owner: list[int] = []  # body line -> index of the step it belongs to (-1: none)
        if workspaces is not None:
            sizes = "".join(f"e[{int(slot)}].shape[{int(axis)}], " for slot, axis in key)
            lines.append(f"w = ws(({sizes}))")
            owner.append(-1)
        for k in range(start, stop):
            fn, ins, out, free, _, into, consts = steps[k]
            namespace[f"f{k}"] = fn
            if len(ins) <= MAX_INLINE_ARGS:
                args = ", ".join(f"e[{int(i)}]" for i in ins)
            else:  # a concat of 10^6 inputs: compiling them inline took seconds and GBs
                namespace[f"a{k}"] = tuple(int(i) for i in ins)
                args = f"*map(e.__getitem__, a{k})"
            for j, value in enumerate(consts):
                namespace[f"c{k}_{j}"] = value
                args += f", c{k}_{j}"
            if into is not None:
                kind, index = into
                to = f"e[{int(ins[index])}]" if kind == "input" else f"w[{int(index)}]"
                args += f", out={to}"
            lines.append(f"e[{int(out)}] = f{k}({args})")
            lines.extend(f"e[{int(slot)}] = None" for slot in free)
            owner += [k] * (1 + len(free))
        lines.append("return e")
        owner.append(-1)
        named = part_source(start)
        return located_function("e", lines, owner, namespace, (nodes, "forward"), named)

    return in_parts(len(steps), part)


PART_STEPS = 2000
"""Steps per compiled function: a plan of more runs as several, one after another, so
compiling it needs memory for a part at a time (one function of 100,000 backward steps
peaked at 2.9 GB while compiling)."""


def in_parts(count: int, part: Callable[[int, int], Callable[..., Any]]) -> Callable[..., Any]:
    """``part(start, stop)`` for each `PART_STEPS` of `count` steps, as one function
    that runs them in order and returns its last argument (the environment a forward
    pass fills, the cotangents a reverse pass sums); the one part itself when there is
    only one."""
    parts = [part(k, min(k + PART_STEPS, count)) for k in range(0, max(count, 1), PART_STEPS)]
    if len(parts) == 1:
        return parts[0]

    def run(*args: Any) -> Any:
        for each in parts:
            each(*args)
        return args[-1]

    return run


def part_source(start: int, name: str = SOURCE) -> str:
    """The file name the part starting at step `start` is compiled as (in tracebacks)."""
    return name if start == 0 else f"{name[:-1]} {start // PART_STEPS}>"


def located_function(
    params: str,
    body: list[str],
    owner: list[int],
    namespace: dict[str, Any],
    where: tuple[list[Node], str],
    source: str = SOURCE,
) -> Callable[..., Any]:
    """A function of `params` running the statements `body`, compiled as file `source`,
    that re-raises a failure in body line j named with ``nodes[owner[j]]`` and the
    stage (`where` = (nodes, stage); -1 owns set-up and return lines, which name no
    node). It catches in its own frame: no wrapper call per run."""
    lines = [f"def run({params}):", "    try:"]
    lines += [f"        {line}" for line in body]
    # `found` is let go of: held by this frame, it would make the raised exception, its
    # traceback and the frame (with every array in it) a cycle only the collector frees
    lines += [
        "    except Exception as exc:",
        "        found = locate(exc)",
        "        try:",
        "            if found is exc:",
        "                raise",
        "            raise found from exc",
        "        finally:",
        "            del found",
    ]
    nodes, stage = where
    first = 3  # the line number of body line 0

    def locate(exc: Exception) -> Exception:
        line = _plan_line(exc.__traceback__, source)
        k = -1 if line is None or not 0 <= line - first < len(owner) else owner[line - first]
        return exc if k < 0 else located(exc, nodes[k], stage)

    namespace["locate"] = locate
    exec(builtins.compile("\n".join(lines), source, "exec"), namespace)
    run: Callable[..., Any] = namespace["run"]
    return run


def _plan_line(tb: TracebackType | None, source: str) -> int | None:
    """The line of the plan function (compiled as `source`) a traceback passed through."""
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == source:
            return tb.tb_lineno
        tb = tb.tb_next
    return None


def located(exc: Exception, node: Node, stage: str) -> Exception:
    """`exc` with the node's id, op and JSON pointer in front of its message.

    The same exception type when it takes a message (ValueError, FloatingPointError…),
    so callers catching it are unaffected; otherwise `exc` itself, with a note.
    """
    where = f"node {node.id!r} ({node.op}{', ' + node.pointer if node.pointer else ''}), {stage}"
    try:
        new = type(exc)(f"{where}: {exc}")
    except Exception:
        if hasattr(exc, "add_note"):  # Python >= 3.11
            exc.add_note(where)
        return exc
    return new
