"""Was the machine quiet while the benchmark ran? Measured, then judged by `report.py`.

A ratio measured while other processes compete for the cores says more about the
thread choice than about the code (see docs/performance.md), so every section of a
run records how busy the rest of the machine was:

- the 1-minute load average when the section starts (what ``uptime`` shows; it
  also remembers the minute before the run),
- the cores other processes used on average while it ran: all CPU time the kernel
  counted (/proc/stat: user, nice, system, irq, softirq, steal) minus this
  process's own, its reaped children's and that of the children it `adopt`s while
  they run (the busy-core spinner).

Linux only; elsewhere the fields are None and the report says so.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from typing import Any

from nnspec.interpreter.threads import machine_seconds

LOAD_LIMIT = 0.5
"""A 1-minute load average at the start at or above this (half a core kept busy
over the last minute) means the run did not start on a quiet machine."""

OTHERS_LIMIT = 0.25
"""Other processes using at least this many cores on average during a section
make its timings unfit for judging a target."""

SPINNER_MIN = 0.5
"""The busy-core rows are judged only if their spinner really kept a core busy: at
least this many cores on average over the section. (Not a full core: while a
contender runs on two threads, three runnable threads share two cores. Other
processes taking its share are caught by `OTHERS_LIMIT`.)"""


def load_average() -> list[float] | None:
    """1, 5 and 15 minute load averages (None where the OS has none)."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def machine_cpu_seconds() -> float | None:
    """CPU seconds all processes have used since boot (None where unknown): the
    measure nnspec's auto thread rule reads (`threads.machine_seconds`)."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            line = f.readline()
    except OSError:
        return None
    return machine_seconds(line, os.sysconf("SC_CLK_TCK"))


_adopted: set[int] = set()
"""Running child processes whose CPU counts as the benchmark's own (its spinner)."""


def adopt(pid: int) -> None:
    """Count the running child `pid` as part of the benchmark until `release`."""
    _adopted.add(pid)


def release(pid: int) -> None:
    """Call right after waiting for the child: from then on `os.times` counts it."""
    _adopted.discard(pid)


def own_cpu_seconds() -> float:
    """CPU seconds of this process, of its children that have been waited for, and of
    the adopted children still running (read from /proc/PID/stat)."""
    t = os.times()
    return (
        t.user
        + t.system
        + t.children_user
        + t.children_system
        + sum(_running_cpu_seconds(pid) for pid in _adopted)
    )


def _running_cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rpartition(")")[2].split()
    except OSError:
        return 0.0
    # after "(comm)": state is field 3, utime and stime fields 14 and 15 of the line
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def section(record: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Fill `record` with the load at the start, the section's length and the cores
    other processes used during it (``other_cores``; None where unknown)."""
    record["load_average_at_start"] = load_average()
    start, machine, own = time.monotonic(), machine_cpu_seconds(), own_cpu_seconds()
    try:
        yield record
    finally:
        wall = time.monotonic() - start
        machine_end = machine_cpu_seconds()
        record["seconds"] = round(wall, 2)
        if machine is None or machine_end is None or wall <= 0:
            record["other_cores"] = None
        else:
            others = (machine_end - machine) - (own_cpu_seconds() - own)
            record["other_cores"] = round(max(0.0, others) / wall, 3)


def wait_for_quiet(limit: float) -> float:
    """Wait up to `limit` seconds for the 1-minute load average to fall below
    `LOAD_LIMIT` (after a test suite it decays for a minute or two); the seconds
    waited. Returns at once where there is no load average."""
    start = time.monotonic()
    told = False
    while time.monotonic() - start < limit:
        load = load_average()
        if load is None or load[0] < LOAD_LIMIT:
            break
        if not told:
            print(
                f"waiting (at most {limit:.0f} s) for the load average {load[0]} to fall "
                f"below {LOAD_LIMIT}",
                file=sys.stderr,
            )
            told = True
        time.sleep(5)
    return round(time.monotonic() - start, 1)
