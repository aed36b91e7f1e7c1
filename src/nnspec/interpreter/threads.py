"""How many BLAS threads the interpreter's matrix products use (``threads=``, ``--threads``).

Sits beside the engines: `Model.run` and `train` wrap their NumPy work in
`blas_threads`, which sets the count through threadpoolctl for the duration of the
call and restores it afterwards. Compiled modules carry a printed twin of this rule
(`_thread_count`, `_free_cores`, `_busy_elsewhere`, `_look` in
codegen/templates/module.py.j2; tests run both on the same recorded looks), used
through threadpoolctl when it is installed (see docs/codegen.md).

The default (``threads=None``, "auto") exists because BLAS libraries start one
thread per core: on a quiet machine that is fastest for large products, but with
another process busy on one core the second thread waits for a core that is not
free, and the same products took 1.5-2.3x longer than with one thread. So "auto"
leaves small work alone (a limit would cost more than it saves) and gives large
work one thread per core that other processes are not using.

"Not using" is measured over time, not read at one instant: the CPU time the kernel
counted on all cores (/proc/stat) minus this process's own (`time.process_time`, all
its threads: its BLAS workers are not "other"), over the time since the previous
look, per second: the cores other processes used on average (`others_cores`). A
look costs one read of /proc/stat (about 11 µs of CPU) and is taken by a large call
only when the previous one is at least `SAMPLE_SECONDS` old; the calls in between
reuse its count (0.1 µs). So in a loop of calls the window is 0.2 s; between sparse
calls it is the time since the last one. The average becomes a whole number of
cores busy elsewhere with hysteresis (`busy_count`: the k-th counts from k - 1 +
`RISE` cores, and until under k - 1 + `FALL`), so a measure near a threshold does not
flip the count from look to look; auto runs one thread per remaining core, at least
one. Where /proc/stat is missing (not Linux) auto leaves the BLAS as it is, and so
it does until the first window (from the import) is `SAMPLE_SECONDS` long.

The count is process-wide. threadpoolctl lets only one Python thread (the first
that sets it) change OpenBLAS's pthreads pool; calls from other threads then run
with the count as it is, and the original count comes back after the last
overlapping call.
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
import time
from contextlib import AbstractContextManager
from typing import Any

from nnspec.arguments import optional, whole

SMALL_WORK = 1 << 22
"""Multiply-adds per call below which "auto" leaves the BLAS alone. Setting and
restoring the count costs 2-30 µs (a read, then a set each way; measured on a
loaded 2-core machine), so only calls of about 0.1 ms and more are worth it; OpenBLAS
itself runs products under 2^18 multiply-adds on one thread."""

SAMPLE_SECONDS = 0.2
"""The shortest time between two looks at the machine: a loop of large calls reads
/proc/stat at most 5 times a second (12 µs each), and each look averages over at
least 0.2 s, 40 clock ticks of CPU time on 2 cores, so one tick is 0.05 cores."""

RISE = 0.5
"""The k-th core busy elsewhere counts once other processes used k - 1 + RISE cores
on average. Below 2/3: a process spinning on one core of two gets only about 2/3 of
a core while this process runs 2 BLAS threads beside it (three runnable threads
share two cores), and it must still count; the benchmark's spinner averaged 0.92
cores over its section on this machine, contenders on 2 threads included."""

FALL = 0.25
"""...and stops counting once they used less than k - 1 + FALL: the band between
is the hysteresis, so a measure wavering around RISE does not flip the count from
look to look. Far above a quiet machine's daemons: the benchmark measured 0.008
cores of other processes over its quiet section on this machine, 0.036 beside the
spinner."""

Sample = tuple[float, float, float]
"""One look: (time.monotonic(), CPU seconds of all processes since boot, CPU seconds
of this process)."""

_LEAVE = contextlib.nullcontext()

MAX_THREADS = 1024  # as ``--threads``


def check(threads: Any) -> int | None:
    """`threads` itself when it is None ("auto") or a whole number from 1 to
    `MAX_THREADS`; else TypeError or ValueError (`nnspec.arguments`)."""
    return optional(whole, "threads", threads, 1, MAX_THREADS)


def usable_cores() -> int:
    """Cores this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def machine_seconds(line: str, ticks_per_second: int) -> float | None:
    """CPU seconds all processes used since boot, from /proc/stat's first line
    ("cpu user nice system idle iowait irq softirq steal ..."; guest time is in user);
    None if it is not that line. Idle and iowait are not use; steal is (a core the
    hypervisor gave to another machine is busy for this one)."""
    fields = line.split()
    if len(fields) < 9 or fields[0] != "cpu":
        return None
    busy = sum(int(fields[i]) for i in (1, 2, 3, 6, 7, 8))
    return busy / ticks_per_second


def others_cores(before: Sample, after: Sample) -> float:
    """Cores other processes used on average between two looks (0 or more)."""
    wall = after[0] - before[0]
    if wall <= 0:
        return 0.0
    return max(0.0, ((after[1] - before[1]) - (after[2] - before[2])) / wall)


def busy_count(others: float, counted: int, cores: int) -> int:
    """The cores counted as busy elsewhere (0 to `cores`) after a look that measured
    `others` cores, when `counted` were counted before: the count rises to k once
    `others` reaches k - 1 + `RISE` and falls to k once it is below k + `FALL`."""
    rising = math.floor(others + 1 - RISE)
    if rising > counted:
        return min(rising, cores)
    return min(counted, max(math.floor(others + 1 - FALL), 0), cores)


def look() -> Sample | None:
    """The machine's and this process's CPU seconds now; None where unknown."""
    try:
        # os.read, not open(): a third less time (about 11 µs, most of it the kernel
        # writing the whole of /proc/stat); the first line fits in 512 bytes
        handle = os.open("/proc/stat", os.O_RDONLY)
        try:
            line = os.read(handle, 512).decode("ascii").partition("\n")[0]
        finally:
            os.close(handle)
        busy = machine_seconds(line, _TICKS)
    except (OSError, ValueError):
        return None
    return None if busy is None else (time.monotonic(), busy, time.process_time())


try:
    _TICKS = os.sysconf("SC_CLK_TCK")  # /proc/stat's unit
except (AttributeError, OSError, ValueError):  # not a POSIX system
    _TICKS = 100

# the last look (None: none could be taken), its measure of other processes'
# cores (None: unknown), the busy count and the thread count chosen from it
_state: tuple[Sample | None, float | None, int, int | None] = (look(), None, 0, None)
_looked = time.monotonic()


def _refresh() -> tuple[Sample | None, float | None, int, int | None]:
    """The state, after a new look if the last is `SAMPLE_SECONDS` old. Python
    threads may race here: each computes a whole state from the same rule and the
    last one stored holds."""
    global _state, _looked
    now = time.monotonic()
    if now - _looked < SAMPLE_SECONDS:
        return _state
    _looked = now
    before, _, counted, _ = _state
    after = look()
    # no window: no look before, or one of another process (a forked child inherits
    # its parent's last look, and its own CPU time starts again from zero)
    if after is None or before is None or after[2] < before[2]:
        _state = (after, None, 0, None)
        return _state
    others = others_cores(before, after)
    cores = usable_cores()
    counted = busy_count(others, counted, cores)
    _state = (after, others, counted, max(1, cores - counted))
    return _state


def busy_elsewhere() -> float | None:
    """Cores other processes used on average over the window of auto's latest look
    (refreshed as `auto_threads` refreshes it); None where unknown or not yet known."""
    others = _refresh()[1]
    return None if others is None else round(others, 3)


def auto_threads() -> int | None:
    """One thread per core other processes are not using (at least 1); None: cannot
    tell (no /proc/stat, or no look `SAMPLE_SECONDS` old yet)."""
    return _refresh()[3]


def choose(threads: int | None, work: int) -> int | None:
    """The BLAS thread count for a call of `work` multiply-adds (None: leave it as is)."""
    if threads is not None:
        return threads
    if work < SMALL_WORK:
        return None
    return auto_threads()


def blas_threads(threads: int | None, work: int) -> AbstractContextManager[Any]:
    """A context running its body with the BLAS thread count `choose` picks."""
    count = choose(threads, work)
    return _LEAVE if count is None else Limited(count)


_lock = threading.Lock()
_active = 0  # calls inside a `Limited` now, over all Python threads
_saved: list[int] = []  # the counts before the first of them, restored after the last
_current: list[int] = []  # the counts in effect while they run, as they set them


class Limited:
    """Every BLAS library on `count` threads for the body of a ``with``; the counts
    from before the first overlapping call come back after the last one (the count is
    process-wide; the latest caller's holds).

    Each call reads the counts once (a get is well under 1 µs) and sets only what
    differs: a count that already holds costs no set on entry and no restore on exit,
    and a changed one costs one set each way (1-15 µs each), never a second read. The
    libraries' own setters, not ``ThreadpoolController.limit``: that rebuilds its
    description of every library on each call (about 70 µs here), more than a batch-64
    product takes.
    """

    __slots__ = ("count",)

    def __init__(self, count: int):
        self.count = count

    def __enter__(self) -> None:
        global _active, _saved, _current
        libs = _blas_libraries()
        with _lock:
            if _active == 0:
                _saved = [lib.get_num_threads() for lib in libs]
                _current = list(_saved)
            _active += 1
            for k, lib in enumerate(libs):
                if _current[k] != self.count:
                    lib.set_num_threads(self.count)
                    _current[k] = self.count

    def __exit__(self, *exc: object) -> None:
        global _active
        with _lock:
            _active -= 1
            if _active == 0:
                for lib, now, old in zip(_blas_libraries(), _current, _saved, strict=True):
                    if now != old:
                        lib.set_num_threads(old)


_libraries: list[Any] | None = None


def _blas_libraries() -> list[Any]:
    """threadpoolctl's controllers of the loaded BLAS libraries, found once
    (finding them walks every loaded shared library: milliseconds)."""
    global _libraries
    if _libraries is None:
        from threadpoolctl import ThreadpoolController

        _libraries = list(ThreadpoolController().select(user_api="blas").lib_controllers)
    return _libraries
