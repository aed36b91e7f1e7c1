"""Timing harness shared by the benchmarks: interleaved rounds, medians, ratios.

Contenders of one workload are timed in interleaved rounds (each round times every
contender once) so a slow period of the shared machine hits all of them alike; the
first round keeps the given order and later rounds shuffle it (seeded, the same
every run), so no contender always follows the same one — a 2-thread contender's
after-effects, say, do not always land on the same neighbour. Each contender is warmed
untimed right before its timed calls, after a short idle pause and after the BLAS
thread pool of the previous contender has stopped spinning (`settle`; on 2 cores
it otherwise steals time from the next one). Results are reported as ratios to the baseline
measured in the same run, and every contender keeps its samples in round order: sample i
of two contenders comes from the same round, the pairing the verdicts rest on (`paired`).
"""

from __future__ import annotations

import contextlib
import gc
import os
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import quiet


@dataclass
class Contender:
    """One way of doing the workload; `check` returns its output for verification."""

    name: str
    call: Callable[[], Any]
    check: Callable[[], Any] | None = None
    threads: int | None = None
    """BLAS threads to time it with (threadpoolctl); None: whatever the code itself uses."""


@dataclass
class Result:
    workload: str
    contender: str
    median_s: float
    ratio: float = float("nan")
    samples: list[float] = field(default_factory=list)
    other_cores: float | None = None
    """Cores other processes used on average while the workload's rounds ran."""


def time_calls(call: Callable[[], Any], min_time: float) -> float:
    """Seconds per call, calling often enough to fill `min_time`."""
    call()
    start = time.perf_counter()
    call()
    once = max(time.perf_counter() - start, 1e-7)
    number = max(1, int(min_time / once))
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(number):
            call()
        elapsed = time.perf_counter() - start
    finally:
        gc.enable()
    return elapsed / number


def measure(
    workload: str,
    contenders: list[Contender],
    *,
    rounds: int,
    min_time: float,
    idle: float = 0.05,
) -> list[Result]:
    """Median seconds per call of every contender; the first one is the baseline.
    Each contender's samples are in round order, so sample i of two contenders
    comes from the same round."""
    samples: dict[str, list[float]] = {c.name: [] for c in contenders}
    shuffle = random.Random(0).shuffle
    order = list(contenders)
    with quiet.section({}) as record:
        for round_number in range(rounds):
            if round_number:
                shuffle(order)
            for contender in order:
                time.sleep(idle)
                settle()
                with blas_limit(contender.threads):
                    samples[contender.name].append(time_calls(contender.call, min_time))
    baseline = statistics.median(samples[contenders[0].name])
    return [
        Result(
            workload,
            c.name,
            statistics.median(samples[c.name]),
            statistics.median(samples[c.name]) / baseline,
            samples[c.name],
            record["other_cores"],
        )
        for c in contenders
    ]


def settle(limit: float = 1.0) -> None:
    """Wait (at most `limit` seconds) until no other thread of this process is running.

    After a call on several threads OpenBLAS's idle workers keep spinning for about
    0.1 s (measured: 0.12 s here). A contender timed in that window shares the cores
    with them, which on a busy machine made whatever followed a multi-threaded
    contender up to 1.5x slower. Linux only (/proc); elsewhere it returns at once.
    """
    end = time.monotonic() + limit
    while time.monotonic() < end and _running_threads() > 1:
        time.sleep(0.005)


def _running_threads() -> int:
    """This process's threads in state R (running or runnable); 0 where unknown."""
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return 0
    running = 0
    for task in tasks:
        with contextlib.suppress(OSError), open(f"/proc/self/task/{task}/stat") as f:
            running += f.read().rpartition(")")[2].split()[0] == "R"
    return running


def blas_limit(threads: int | None) -> contextlib.AbstractContextManager[Any]:
    if threads is None:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(threads, user_api="blas")


BUSY_LOOP = (
    "import time\nend = time.monotonic() + {seconds}\nwhile time.monotonic() < end:\n    pass"
)


@contextlib.contextmanager
def busy_core(seconds: float, record: dict[str, Any]) -> Iterator[int]:
    """One other process spinning on one core while the body runs (its pid).

    It stops itself after `seconds` even if this process dies, and is ended (by
    its own pid) when the body finishes. ``record["spinner_cores"]`` is then the
    cores it used on average: about 1.0 when it really kept a core busy.
    """
    before, start = _children_cpu_seconds(), time.monotonic()
    spinner = subprocess.Popen([sys.executable, "-c", BUSY_LOOP.format(seconds=seconds)])
    quiet.adopt(spinner.pid)  # its CPU is the benchmark's, not "other processes'"
    try:
        time.sleep(0.2)  # let it start spinning
        yield spinner.pid
    finally:
        spinner.terminate()
        spinner.wait()
        quiet.release(spinner.pid)
        wall = time.monotonic() - start
        record["spinner_cores"] = round((_children_cpu_seconds() - before) / wall, 3)


def _children_cpu_seconds() -> float:
    t = os.times()
    return t.children_user + t.children_system


def verify(contenders: list[Contender], *, rtol: float, atol: float) -> None:
    """Every contender's output must match the baseline's before anything is timed."""
    expected = np.asarray(contenders[0].check() if contenders[0].check else contenders[0].call())
    for contender in contenders[1:]:
        got = contender.check() if contender.check else contender.call()
        got = np.asarray(got)
        if got.shape != expected.shape or not np.allclose(got, expected, rtol=rtol, atol=atol):
            worst = float(np.max(np.abs(got - expected))) if got.shape == expected.shape else None
            raise AssertionError(
                f"{contender.name} disagrees with {contenders[0].name} "
                f"(shape {got.shape} vs {expected.shape}, max abs diff {worst})"
            )


def markdown(results: list[Result]) -> str:
    """A table of results, one row per (workload, contender)."""
    lines = [
        "| workload | contender | median per call | ratio to NumPy |",
        "|---|---|---:|---:|",
    ]
    for r in results:
        lines.append(f"| {r.workload} | {r.contender} | {_fmt_time(r.median_s)} | {r.ratio:.2f}x |")
    return "\n".join(lines)


def _fmt_time(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"
