"""`nnspec.inplace`: update rules as ufunc writes into buffers, bitwise the literal
reading of the same expressions (which the interpreter's `evaluator` computes)."""

from __future__ import annotations

import numpy as np
import pytest

from nnspec.inplace import SCRATCH, Lowered, Write, lower, reuse
from nnspec.interpreter.optimizers import evaluator, writes_of
from nnspec.ir import Regularizer
from nnspec.optimizers import OPTIMIZERS, Assign, Rule
from nnspec.regularizers import GRADIENT, gradient_assigns, gradient_terms

RULES: dict[str, Rule] = {
    **{name: o.rule for name, o in OPTIMIZERS.items()},
    **{f"{name} switched": o.switch[1] for name, o in OPTIMIZERS.items() if o.switch},
}
SCALARS = {
    "learning_rate": 0.1,
    "momentum": 0.875,
    "beta1": 0.5,
    "beta2": 0.75,
    "epsilon": 1e-3,
    "alpha": 0.3,
    "t": 3,
}


def _arrays(names: tuple[str, ...], dtype: str, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    arrays = {n: rng.normal(size=(5, 3)).astype(dtype) for n in names}
    for name in ("v",):  # Adam's second moment is never negative (its root is taken)
        if name in arrays:
            arrays[name] = np.abs(arrays[name])
    return arrays


def _literal(assigns: tuple[Assign, ...], env: dict) -> None:
    """The assignments read literally: a new array for every operation."""
    for a in assigns:
        value = evaluator(a.expr)(env)
        if a.op == "=":
            env[a.target] = value
        elif a.op == "+=":
            env[a.target] += value
        elif a.op == "-=":
            env[a.target] -= value
        else:
            env[a.target] *= value


def _in_place(
    assigns: tuple[Assign, ...], env: dict, arrays: set[str], overwriting: str = ""
) -> dict:
    lowered = lower(assigns, arrays)
    if overwriting:
        lowered = reuse(lowered, overwriting)
    dtype = env["w"].dtype
    for k in range(lowered.scratch):
        env[f"{SCRATCH}{k}"] = np.full(env["w"].shape, np.nan, dtype)  # garbage to start
    writes_of(lowered.writes)(env)
    return env


@pytest.mark.parametrize("overwriting", [False, True], ids=["reading-g", "overwriting-g"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("name", sorted(RULES))
def test_every_update_rule_lowers_to_writes_with_the_literal_bits(
    name: str, seed: int, dtype: str, overwriting: bool
) -> None:
    """Params and state come out as the literal reading's. Overwriting (`reuse`):
    each step gets a fresh gradient, as a training step makes one, which the writes
    may overwrite, and every rule needs one scratch buffer fewer."""
    rule = RULES[name]
    arrays = {"g", "w", *rule.state}
    start = _arrays(tuple(sorted(arrays)), dtype, seed)
    want = {**SCALARS, **{k: v.copy() for k, v in start.items()}}
    got = {**SCALARS, **{k: v.copy() for k, v in start.items()}}
    for _ in range(3):
        _literal(rule.per_param, want)
        got["g"] = start["g"].copy() if overwriting else got["g"]
        got = _in_place(rule.per_param, got, arrays, "g" if overwriting else "")
    for key in arrays - {"g"}:
        assert got[key].dtype == np.dtype(dtype)
        assert np.array_equal(got[key], want[key]), (name, key)
    lowered = lower(rule.per_param, arrays)
    if overwriting:
        assert reuse(lowered, "g").scratch == lowered.scratch - 1, name
    else:
        assert np.array_equal(got["g"], start["g"])  # the gradient is only read


def _writes(*specs: tuple[str, tuple, str]) -> tuple[Write, ...]:
    return tuple(Write(ufunc, args, out) for ufunc, args, out in specs)


REUSED = {
    # scratch0 lives while g is still read; scratch1 is written by the last write
    # reading g, so it is free from there
    "first-free-buffer": (
        [("multiply", ("m", 0.5), "scratch0"), ("add", ("scratch0", "g"), "m")],
        [("sqrt", ("g",), "scratch1"), ("divide", ("m", "scratch1"), "scratch1")],
        [("subtract", ("w", "scratch1"), "w")],
    ),
    # scratch1 is live across the last read of g, scratch0 first written after it:
    # scratch0 becomes g and scratch1 is renumbered scratch0
    "renumbered": (
        [("multiply", ("w", 3.0), "scratch1"), ("add", ("scratch1", "g"), "scratch1")],
        [("multiply", ("w", 2.0), "scratch0"), ("subtract", ("w", "scratch0"), "w")],
        [("subtract", ("w", "scratch1"), "w")],
    ),
}


@pytest.mark.parametrize("case", sorted(REUSED))
def test_reuse_takes_the_first_buffer_written_once_the_name_is_read(case: str) -> None:
    before, free, after = REUSED[case]
    taken = {"scratch1": "g"} if case == "first-free-buffer" else {"scratch0": "g"}
    renumbered = {} if case == "first-free-buffer" else {"scratch1": "scratch0"}
    names = taken | renumbered

    def renamed(specs: list) -> list:
        return [(u, tuple(names.get(a, a) for a in args), names.get(o, o)) for u, args, o in specs]

    got = reuse(Lowered(_writes(*before, *free, *after), 2), "g")
    assert got == Lowered(_writes(*renamed(before), *renamed(free), *renamed(after)), 1)


@pytest.mark.parametrize(
    "writes",
    [
        _writes(("multiply", ("g", 2.0), "g"), ("subtract", ("w", "g"), "w")),  # g written
        _writes(("multiply", ("w", 2.0), "scratch0"), ("add", ("scratch0", "g"), "w")),
        _writes(("subtract", ("w", "g"), "w")),  # no scratch at all
    ],
    ids=["name-written", "buffer-live-across-the-read", "no-buffer"],
)
def test_reuse_leaves_writes_alone_when_no_buffer_is_free(writes: tuple[Write, ...]) -> None:
    lowered = Lowered(writes, max((1 for w in writes if w.out == "scratch0"), default=0))
    assert reuse(lowered, "g") is lowered


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(("l1", "l2"), [(0.01, 0.0), (0.0, 0.25), (0.125, 0.5)])
def test_penalty_gradients_lower_to_writes_with_the_literal_bits(
    l1: float, l2: float, dtype: str
) -> None:
    reg = Regularizer("w", l1, l2)
    start = _arrays(("g", "w"), dtype, 7)
    want = start["g"]
    for term in gradient_terms(reg):  # Penalty's order: each term added to a new array
        want = want + evaluator(term)(start)
    env = {k: v.copy() for k, v in start.items()}
    env[GRADIENT] = np.empty_like(start["w"])
    got = _in_place(gradient_assigns(reg), env, {"g", "w", GRADIENT})
    assert np.array_equal(got[GRADIENT], want)
    assert np.array_equal(got["g"], start["g"]) and np.array_equal(got["w"], start["w"])


def test_writes_never_target_the_gradient_and_reuse_scratch() -> None:
    for name, rule in RULES.items():
        lowered = lower(rule.per_param, {"g", "w", *rule.state})
        assert all(w.out != "g" for w in lowered.writes), name
        assert lowered.scratch <= 2, name  # Adam's step needs two, the others one
        used = {a for w in lowered.writes for a in (*w.args, w.out) if isinstance(a, str)}
        assert used >= {"w", "g"}, name


def test_operands_keep_their_order_and_scalars_stay_scalars() -> None:
    lowered = lower([Assign("w", "-=", ("/", ("-", 1.0, "beta"), ("sqrt", "g")))], {"g", "w"})
    assert lowered.writes == (  # the root computed in the buffer that then holds the quotient
        Write("sqrt", ("g",), "scratch0"),
        Write("divide", (("-", 1.0, "beta"), "scratch0"), "scratch0"),
        Write("subtract", ("w", "scratch0"), "w"),
    )
    # scalar-only right-hand sides and bare names need no scratch at all
    assert lower([Assign("w", "*=", ("*", 2.0, "k"))], {"w"}).writes == (
        Write("multiply", ("w", ("*", 2.0, "k")), "w"),
    )
    assert lower([Assign("w", "+=", "v")], {"w", "v"}).scratch == 0


@pytest.mark.parametrize(
    ("assign", "message"),
    [
        (Assign("w", "-=", ("max", "g", 0.0)), "'max' of an array"),
        (Assign("w", "-=", ("sum", "g")), "'sum' of an array"),
        (Assign("w", "=", "g"), "no array operation"),
        (Assign("w", "=", ("*", 2.0, "k")), "no array operation"),
        (Assign("k", "+=", "g"), "is not an array"),
    ],
)
def test_what_cannot_be_written_in_place_is_refused(assign: Assign, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        lower([assign], {"g", "w"})


def test_compiled_writes_make_evaluators_calls_and_print_no_values() -> None:
    """`writes_of` prints one function: names as quoted keys (a name with a quote and
    a newline stays data), every number and function an object it refers to."""
    odd = "it's\n"
    scale, shift = ("*", 0.5, ("//", "k", 1.0)), ("-", -0.0, 1.5)
    writes = (Write("multiply", (odd, scale), "w"), Write("add", ("w", shift), "w"))
    env = {odd: np.arange(3, dtype=np.float32), "k": 3.0, "w": np.ones(3, np.float32)}
    expected = np.add(np.multiply(env[odd], evaluator(scale)(env)), evaluator(shift)(env))
    run = writes_of(writes)
    run(env)
    assert env["w"].tobytes() == expected.tobytes()
    assert not [c for c in run.__code__.co_consts if isinstance(c, (int, float)) and c is not None]
