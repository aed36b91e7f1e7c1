"""The forward loop: run planned steps over a flat environment list.

Sits after `plan`: each step is (bound op forward, input slots, output slot, slots
to free). `execute` is the loop itself; `straight_line` turns a plan's steps into
one Python function doing exactly the same reads, calls, writes and frees in the
same order, without the loop's per-step tuple unpacking and argument list — the
interpreter's per-node overhead becomes one call. Its source is made only of slot
numbers and generated names (nothing from the document).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nnspec.interpreter.plan import Step

STRAIGHT_LINE_LIMIT = 5_000
"""Plans with more steps keep the loop (compiling huge functions costs more than it saves)."""


def execute(steps: tuple[Step, ...], env: list[Any]) -> list[Any]:
    """Run `steps` in order, writing each node's value into its slot of `env`."""
    for fn, ins, out, free in steps:
        env[out] = fn(*[env[i] for i in ins])
        for slot in free:
            env[slot] = None
    return env


def straight_line(steps: tuple[Step, ...]) -> Callable[[list[Any]], list[Any]]:
    """A function ``run(env) -> env`` equivalent to ``execute(steps, env)``."""
    if len(steps) > STRAIGHT_LINE_LIMIT:
        return lambda env: execute(steps, env)
    namespace: dict[str, Any] = {}
    lines = ["def run(e):"]
    for k, (fn, ins, out, free) in enumerate(steps):
        namespace[f"f{k}"] = fn
        args = ", ".join(f"e[{int(i)}]" for i in ins)
        lines.append(f"    e[{int(out)}] = f{k}({args})")
        lines.extend(f"    e[{int(slot)}] = None" for slot in free)
    lines.append("    return e")
    exec(compile("\n".join(lines), "<nnspec plan>", "exec"), namespace)
    return namespace["run"]
