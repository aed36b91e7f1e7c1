"""Exceptions that survive pickling with their fields (below every layer).

Dask ships an exception raised on a worker back to the client by pickling it. The
default reduction rebuilds an exception by calling its class with ``self.args``,
which breaks (or silently changes the fields) as soon as ``__init__`` takes other
arguments than it passes to ``Exception.__init__``, as `DataError(path, message)`
does. `Portable` rebuilds without calling ``__init__``: the same class, the same
``args`` and the same instance fields. Every nnspec exception with its own
``__init__`` derives from it; ``tests/test_portable.py`` checks them all.
"""

from __future__ import annotations

from typing import Any


class Portable(BaseException):
    """Mixin base for exceptions whose ``__init__`` differs from ``Exception``'s."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.args, dict(self.__dict__)))


def _rebuild(cls: type[BaseException], args: tuple[Any, ...], state: dict[str, Any]) -> Any:
    exc = cls.__new__(cls, *args)  # BaseException.__new__ does not run __init__
    exc.args = args
    exc.__dict__.update(state)
    return exc
