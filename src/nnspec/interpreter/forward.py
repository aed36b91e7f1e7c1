"""The forward pass: a plan's steps as one straight-line Python function.

Sits after `plan`: each step is (bound op forward, input slots, output slot, slots to
free, node, where it writes, constant operands after the inputs). `straight_line` turns
the steps into one function doing exactly those reads, calls, writes and frees in order
— the interpreter's per-node overhead becomes one call, and a step writing into a buffer
is the ufunc or product itself with ``out=`` (no wrapper), its workspace fetched once at
the top, as a compiled module's ``_predict`` does — and that function is the only way a
plan runs, whatever its size. Its source is made only of slot numbers and generated
names (nothing from the document). A failure inside any step is re-raised naming the
step's node: its id, op and JSON pointer (`located`), found from the traceback's line in
the function.
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
    namespace: dict[str, Any] = {"ws": workspaces}
    lines = ["def run(e):"]
    owner: list[int] = [-1]  # line number - 1 -> index of the step it belongs to
    if workspaces is not None:
        sizes = "".join(f"e[{int(slot)}].shape[{int(axis)}], " for slot, axis in key)
        lines.append(f"    w = ws(({sizes}))")
        owner.append(-1)
    for k, (fn, ins, out, free, _, into, consts) in enumerate(steps):
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
            args += f", out=e[{int(ins[index])}]" if kind == "input" else f", out=w[{int(index)}]"
        lines.append(f"    e[{int(out)}] = f{k}({args})")
        lines.extend(f"    e[{int(slot)}] = None" for slot in free)
        owner += [k] * (1 + len(free))
    lines.append("    return e")
    return located_function(lines, namespace, owner, [step[4] for step in steps], "forward")


def located_function(
    lines: list[str],
    namespace: dict[str, Any],
    owner: list[int],
    nodes: list[Node],
    stage: str,
    source: str = SOURCE,
) -> Callable[..., Any]:
    """The function ``run`` that `lines` define, compiled as file `source`, re-raising
    a failure named with ``nodes[owner[line - 1]]`` (and `stage`), the node of the line
    the traceback passed through; lines owned by -1 (set-up, return) name no node."""
    exec(builtins.compile("\n".join(lines), source, "exec"), namespace)
    body = namespace["run"]

    def run(*args: Any) -> Any:
        try:
            return body(*args)
        except Exception as exc:
            line = _plan_line(exc.__traceback__, source)
            if line is None or not 0 < line <= len(owner) or owner[line - 1] < 0:
                raise
            raise located(exc, nodes[owner[line - 1]], stage) from exc

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
