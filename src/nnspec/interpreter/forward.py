"""The forward loop: run planned steps over a flat environment list.

Sits after `plan`: each step is (bound op forward, input slots, output slot, slots
to free). The loop does nothing else, so per-node overhead is one call and a
list comprehension.
"""

from __future__ import annotations

from typing import Any

from nnspec.interpreter.plan import Step


def execute(steps: tuple[Step, ...], env: list[Any]) -> list[Any]:
    """Run `steps` in order, writing each node's value into its slot of `env`."""
    for fn, ins, out, free in steps:
        env[out] = fn(*[env[i] for i in ins])
        for slot in free:
            env[slot] = None
    return env
