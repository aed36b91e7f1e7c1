"""benchmarks/quiet.py: how busy the rest of the machine was during a section.

The CPU use of another process counts as "other"; a child the benchmark starts and
waits for (its busy-core spinner) counts as its own. No timing is asserted: only the
kernel's CPU accounting, which a spinning process fills whatever the machine's speed.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
pytestmark = pytest.mark.skipif(not BENCHMARKS.exists(), reason="benchmarks/ is not shipped here")
# spins until it has used one second of CPU (not of wall time), so its account is the
# same on a loaded machine, where it only takes longer
SPIN = "import time\nwhile time.process_time() < 1.0:\n    pass"


@pytest.fixture(scope="module")
def quiet() -> Any:
    sys.path.insert(0, str(BENCHMARKS))
    try:
        yield importlib.import_module("quiet")
    finally:
        sys.path.remove(str(BENCHMARKS))


@pytest.mark.skipif(not Path("/proc/stat").exists(), reason="needs Linux's /proc/stat")
def test_a_process_spinning_outside_the_section_is_other_load(quiet: Any) -> None:
    spinner = subprocess.Popen([sys.executable, "-c", SPIN])
    try:
        with quiet.section({}) as record:
            time.sleep(0.8)  # the spinner runs; this process sleeps
    finally:
        spinner.wait()  # reaped after the section: not ours during it
    assert record["seconds"] >= 0.8
    assert record["other_cores"] > 0.2
    assert len(record["load_average_at_start"]) == 3


@pytest.mark.skipif(not Path("/proc/stat").exists(), reason="needs Linux's /proc/stat")
def test_a_child_waited_for_inside_the_section_is_the_benchmarks_own(quiet: Any) -> None:
    before = quiet.own_cpu_seconds()
    with quiet.section({}) as record:
        subprocess.run([sys.executable, "-c", SPIN], check=True)
    # the child's second of spinning is in this process's own account (which the
    # section takes away from the machine's), so it is not "other" load
    assert quiet.own_cpu_seconds() - before >= 0.5
    assert record["other_cores"] is not None and record["seconds"] >= 1.0


@pytest.mark.skipif(not Path("/proc/stat").exists(), reason="needs Linux's /proc/stat")
def test_an_adopted_child_counts_as_the_benchmarks_own_while_it_runs(quiet: Any) -> None:
    spinner = subprocess.Popen([sys.executable, "-c", SPIN])
    quiet.adopt(spinner.pid)
    try:
        before, child = quiet.own_cpu_seconds(), quiet._running_cpu_seconds(spinner.pid)
        # this process sleeps; only the adopted spinner uses CPU. Wait for its CPU, not
        # for wall time: on a loaded machine 0.8 s of wall time gave it only 0.17 s
        deadline = time.monotonic() + 60
        while quiet._running_cpu_seconds(spinner.pid) - child < 0.3:
            assert time.monotonic() < deadline, "the spinner got no CPU in a minute"
            time.sleep(0.05)
        during = quiet.own_cpu_seconds() - before
    finally:
        spinner.wait()
        quiet.release(spinner.pid)
    assert during >= 0.3 - 0.02  # its CPU, read from /proc in clock ticks
    after = quiet.own_cpu_seconds()  # reaped: os.times counts it now, and only once
    assert after - before < 1.0 + 0.5


def test_waiting_for_quiet_with_no_time_returns_at_once(quiet: Any) -> None:
    assert quiet.wait_for_quiet(0) == 0
