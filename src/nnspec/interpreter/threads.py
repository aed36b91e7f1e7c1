"""How many BLAS threads the interpreter's matrix products use (``threads=``, ``--threads``).

Sits beside the engines: `Model.run` and `train` wrap their NumPy work in
`blas_threads`, which sets the count through threadpoolctl for the duration of the
call and restores it afterwards. Compiled modules carry a printed twin of this rule
(`_threads` in codegen/templates/module.py.j2; a test compares the two), used through
threadpoolctl when it is installed (see docs/codegen.md).

The default (``threads=None``, "auto") exists because BLAS libraries start one
thread per core: on a quiet machine that is fastest for large products, but with
another process busy on one core the second thread waits for a core that is not
free, and the same products took 1.5-2.3x longer than with one thread. So "auto"
leaves small work alone (a limit would cost more than it saves) and gives large
work one thread per core that nothing else is running on, counted when the call
starts.

The count is process-wide. threadpoolctl lets only one Python thread (the first
that sets it) change OpenBLAS's pthreads pool; calls from other threads then run
with the count as it is, and the original count comes back after the last
overlapping call.
"""

from __future__ import annotations

import contextlib
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

SAMPLE_SECONDS = 1.0
"""How long one count of the busy cores is reused, so a loop of calls reads
/proc once a second, not once per call."""

_LEAVE = contextlib.nullcontext()
_sample: tuple[float, int] = (-float("inf"), 0)


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


def busy_elsewhere() -> int | None:
    """Threads of other processes running or ready to run now; None where unknown.

    Linux counts runnable threads system-wide in the 4th field of /proc/loadavg
    ("running/total"); this process's own runnable threads (the caller, spinning
    BLAS workers) are subtracted, so its own earlier calls do not count as load.
    """
    try:
        with open("/proc/loadavg", encoding="ascii") as f:
            running = int(f.read().split()[3].split("/")[0])
        own = 0
        for task in os.listdir("/proc/self/task"):
            # a thread may end while we look
            with contextlib.suppress(OSError), open(f"/proc/self/task/{task}/stat") as f:
                own += f.read().rpartition(")")[2].split()[0] == "R"
    except (OSError, ValueError, IndexError):
        return None
    return max(0, running - max(own, 1))


def auto_threads() -> int | None:
    """One thread per core nothing else runs on (at least 1); None: cannot tell."""
    global _sample
    now = time.monotonic()
    if now - _sample[0] < SAMPLE_SECONDS:
        return _sample[1] or None
    busy = busy_elsewhere()
    count = 0 if busy is None else max(1, usable_cores() - busy)
    _sample = (now, count)
    return count or None


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
