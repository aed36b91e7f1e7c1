"""Shared test set-up: hypothesis profiles, and the `peak_bytes` fixture.

``ci`` (used when CI=true) is derandomized with bounded example counts so the whole
suite stays well under 10 minutes; ``dev`` is the default; ``long`` is for local
soak runs: ``HYPOTHESIS_PROFILE=long pytest``.
"""

from __future__ import annotations

import os
import tracemalloc
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

import nnspec.spec.check

# Every graph the checker builds in a test is typechecked (`nnspec.typecheck`), so the
# properties and every loading test hold the checker to the ops' own shape rules.
nnspec.spec.check.VERIFY_GRAPHS = True

settings.register_profile(
    "ci",
    derandomize=True,
    max_examples=25,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=40, deadline=None)
settings.register_profile("long", max_examples=1000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


@pytest.fixture
def peak_bytes() -> Callable[[Callable[[], Any]], int]:
    """``peak_bytes(call)``: the peak bytes tracemalloc traced while `call` ran (NumPy's
    allocations included), above what was allocated before it: what one warm step
    allocates at most. The BLAS libraries are found first (the auto thread rule may
    first look for them in any call, and importing threadpoolctl is no step's)."""
    from nnspec.interpreter import threads

    threads._blas_libraries()

    def measure(call: Callable[[], Any]) -> int:
        tracemalloc.start()
        try:
            call()
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    return measure
