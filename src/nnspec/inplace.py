"""Updates without temporaries: a rule's array expressions as ufunc calls into buffers.

Beside `nnspec.optimizers` and `nnspec.regularizers`, in their expression language.
An optimizer step read literally (``w -= lr * g``) allocates a new array for every
array-valued operation, per param and per step. `lower` turns the same assignments
into `Write`s: ``np.<ufunc>(*args, out=buffer)`` calls whose results land in the
target array itself or in scratch buffers (``scratch0``, ``scratch1`` …) that the
engine makes once per param and reuses every step. The interpreter executes the
writes (`nnspec.interpreter.optimizers`, `nnspec.interpreter.regularize`) and the
``--train`` template prints them (`nnspec.codegen.update`), so both engines run the
very same NumPy calls. `reuse` lets the writes compute into an array the caller
owns (a training step's gradient) once they have read it, in place of a scratch buffer.

Bitwise: ``a * b`` on arrays *is* ``np.multiply(a, b)``, and ``out=`` only picks
where the result goes when the buffer has the result's dtype (scratch buffers take
``np.result_type`` of the param and its gradient, and the param's memory layout, so a
sum over one (`lower_value`, the L1/L2 penalty's value) adds in the same order).
The operands keep their order and the tree its evaluation order, and ``w -= x``
is ``np.subtract(w, x, out=w)``, so each result is the one the literal reading
computes. Scalar subexpressions (no array
name in them) stay Python floats, evaluated as before.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from nnspec.optimizers import Assign, Expr, reads

UFUNCS: dict[str, str] = {
    "+": "add",
    "-": "subtract",
    "*": "multiply",
    "/": "divide",
    "**": "power",
    "//": "floor_divide",
    "sqrt": "sqrt",
    "cos": "cos",
    "abs": "absolute",
    "sign": "sign",
}
"""The NumPy ufunc each operator or function of the expression language is, on arrays."""

IN_PLACE: dict[str, str] = {"+=": "add", "-=": "subtract", "*=": "multiply"}
"""The ufunc of each in-place assignment (``w -= x`` is ``np.subtract(w, x, out=w)``)."""

SCRATCH = "scratch"
"""Prefix of the scratch buffers' names: ``scratch0``, ``scratch1`` …"""


@dataclass(frozen=True)
class Write:
    """``np.<ufunc>(*args, out=out)``: each arg an array name (param, gradient, state,
    scratch) or a scalar expression evaluated as a Python float."""

    ufunc: str
    args: tuple[Expr, ...]
    out: str


@dataclass(frozen=True)
class Lowered:
    """Assignments as writes, and how many scratch buffers (per param) they need."""

    writes: tuple[Write, ...]
    scratch: int


def scratch(k: int) -> str:
    return f"{SCRATCH}{k}"


def scratch_number(name: str) -> int:
    """k of scratch buffer ``scratch<k>``."""
    return int(name[len(SCRATCH) :])


def lower(assigns: Sequence[Assign], arrays: Collection[str]) -> Lowered:
    """`assigns` (per-param assignments whose targets are in `arrays`) as writes.

    ``target = expr`` writes `expr` into `target`; ``target op= expr`` applies op with
    `target` as its first operand and writes into `target`. Raises ValueError for an
    assignment the language cannot write in place (an array-valued ``min``/``max`` or
    ``sum``, a copy ``a = b``, a target that is not an array).
    """
    writes: list[Write] = []
    depth = 0
    for a in assigns:
        if a.target not in arrays:
            raise ValueError(f"in-place target {a.target!r} is not an array")
        if a.op == "=":
            if isinstance(a.expr, str) or not _is_array(a.expr, arrays):
                raise ValueError(f"{a.target} = {a.expr!r} is no array operation")
            used = _into(a.expr, a.target, 0, arrays, writes)
        elif isinstance(a.expr, str) or not _is_array(a.expr, arrays):
            writes.append(Write(IN_PLACE[a.op], (a.target, a.expr), a.target))
            used = 0
        else:
            used = _into(a.expr, scratch(0), 1, arrays, writes)
            writes.append(Write(IN_PLACE[a.op], (a.target, scratch(0)), a.target))
        depth = max(depth, used)
    return Lowered(tuple(writes), depth)


def _is_array(expr: Expr, arrays: Collection[str]) -> bool:
    return any(name in arrays for name in reads([expr]))


def _into(expr: Expr, out: str, free: int, arrays: Collection[str], writes: list[Write]) -> int:
    """Append the writes computing array-valued `expr` into `out`; scratch buffers
    from number `free` on are unused. Returns the scratch buffers used in all
    (one past the highest number)."""
    assert isinstance(expr, tuple)
    op, *args = expr
    if op not in UFUNCS:
        raise ValueError(f"{op!r} of an array cannot be written in place")
    operands: list[Expr] = []
    used = free
    for arg in args:
        if isinstance(arg, str) or not _is_array(arg, arrays):
            operands.append(arg)  # a name or a scalar expression: passed as it is
        elif out.startswith(SCRATCH) and out not in operands:
            # computed in `out` itself: no one reads a scratch buffer before the write
            # that fills it, and no operand before this one is `out`
            used = max(used, _into(arg, out, free, arrays, writes))
            operands.append(out)
        else:
            held = scratch(free)
            used = max(used, _into(arg, held, free + 1, arrays, writes))
            free += 1  # holds this operand until the write below
            operands.append(held)
    writes.append(Write(UFUNCS[op], tuple(operands), out))
    return used


def lower_value(expr: Expr, arrays: Collection[str]) -> tuple[tuple[Write, ...], Expr, int]:
    """A scalar-valued `expr` whose reductions (``sum``) read array operations: the
    writes computing each such operand into a scratch buffer, `expr` reading those
    buffers instead, and the scratch buffers used. The reduction then sums the very
    values (and, as the buffers are laid out like the param, in the same order)."""
    writes: list[Write] = []
    used = 0

    def hoist(e: Expr) -> Expr:
        nonlocal used
        if not isinstance(e, tuple):
            return e
        op, *args = e
        if op == "sum" and not isinstance(args[0], str) and _is_array(args[0], arrays):
            held = scratch(used)
            used = max(used + 1, _into(args[0], held, used + 1, arrays, writes))
            return (op, held, *args[1:])
        return (op, *(hoist(a) for a in args))

    value = hoist(expr)
    return tuple(writes), value, used


def reuse(lowered: Lowered, name: str) -> Lowered:
    """`lowered` with one scratch buffer replaced by array `name` once nothing reads
    `name` any more: for a gradient the step made into a buffer of the param's own,
    which the update may overwrite, so it needs one buffer (and one pass over fresh
    memory) less. SGD's ``w -= lr * g`` becomes ``g = lr * g; w -= g``.

    The scratch buffer taken is the lowest numbered one first used at or after the
    last write reading `name` (in `lower`'s writes a buffer's first use is a write).
    That write may read `name` and write the buffer, now `name` itself: an elementwise
    ufunc reads each element before it writes it. The others are renumbered from 0. The same
    ufuncs on the same operands, so the same bits, when `name`'s array has the scratch
    buffers' dtype and shape. Unchanged when `name` is written or no buffer qualifies.
    """
    writes = lowered.writes
    if any(w.out == name for w in writes):
        return lowered
    last_read = max((k for k, w in enumerate(writes) if name in w.args), default=-1)
    first_use: dict[str, int] = {}
    for k, w in enumerate(writes):
        for arg in (*w.args, w.out):
            if isinstance(arg, str) and arg.startswith(SCRATCH):
                first_use.setdefault(arg, k)
    free = sorted((s for s, k in first_use.items() if k >= last_read), key=scratch_number)
    if not free:
        return lowered
    kept = sorted((s for s in first_use if s != free[0]), key=scratch_number)
    names = {free[0]: name} | {s: scratch(k) for k, s in enumerate(kept)}

    def renamed(arg: Expr) -> Expr:
        return names.get(arg, arg) if isinstance(arg, str) else arg

    return Lowered(
        tuple(
            Write(w.ufunc, tuple(renamed(a) for a in w.args), str(renamed(w.out))) for w in writes
        ),
        len(kept),
    )
