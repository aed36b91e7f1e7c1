"""Code generation, layer two: an emit plan becomes module text through Jinja templates.

There is one Jinja environment (StrictUndefined, so a missing plan field is an error
and never an empty string). Each op's code lives in ``templates/ops/<family>.j2`` as
a macro named after the op; shared functions live in ``templates/helpers.j2`` and
are emitted once, only when a rendered macro calls them: the ops say which their
macros call (`OpDef.helpers`), and `HELPERS` which each helper calls.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from functools import cache
from itertools import pairwise
from typing import Any

import jinja2

from nnspec.codegen.emit import EmitPlan, EmitStep, zeros
from nnspec.codegen.literals import python_literal
from nnspec.codegen.train import EmitBackStep, TrainPlan
from nnspec.ops import REGISTRY
from nnspec.ops.elementwise import (
    ERF_SWITCH,
    ERF_TERMS,
    GELU_C,
    GELU_K,
    TWO_OVER_SQRT_PI,
)

HELPERS: dict[str, tuple[str, ...]] = {
    "sigmoid": (),
    "gelu": (),
    "erf": (),
    "softmax": (),
    "log_softmax": (),
    "eps": (),
    "rows": (),
    "one_hot": (),
    "mse": (),
    "binary_cross_entropy": ("eps",),
    "cross_entropy": ("log_softmax", "eps", "rows", "one_hot"),
    "unbroadcast": (),
    "gelu_vjp": (),
    "silu_vjp": ("sigmoid",),
    "pow_vjp": (),
    "max_vjp": (),
    "mse_vjp": (),
    "bce_vjp": ("sigmoid", "eps"),
    "ce_vjp": ("softmax", "log_softmax", "eps", "rows", "one_hot"),
    "cross_entropy_kept": ("rows", "one_hot", "cross_entropy"),
    "ce_vjp_kept": ("rows", "ce_vjp"),
    "dropout_noise": (),
}
"""Every helper macro of helpers.j2, in the order the module defines them, with the
helpers it calls. Ops name the helpers their macros call (`OpDef.helpers`,
`OpDef.vjp_helpers`, `OpDef.kept`); tests check both against the rendered text."""

_EXTRA_BLANK_LINES = re.compile(r"\n{4,}")
_EMPTY_BRACKETS = re.compile(r"([(\[{])\n *([)\]}])")
WIDTH = 88  # ruff's default line length; the project's own (100) is wider


@cache
def environment() -> jinja2.Environment:
    """The one Jinja environment of the code generator."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("nnspec.codegen", "templates"),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
        extensions=["jinja2.ext.do"],
    )
    env.filters["pyrepr"] = python_literal
    env.filters["wrap"] = wrap
    env.globals.update(
        GELU_C=repr(GELU_C),
        GELU_K=repr(GELU_K),
        TWO_OVER_SQRT_PI=repr(TWO_OVER_SQRT_PI),
        ERF_SWITCH=repr(ERF_SWITCH),
        ERF_TERMS=repr(ERF_TERMS),
    )
    return env


@cache
def family(name: str) -> jinja2.Template:
    return environment().get_template(f"ops/{name}.j2")


def render_steps(steps: list[EmitStep]) -> str:
    """The straight-line code of `steps`, each under its node comment."""
    lines = []
    for step in steps:
        if step.group:
            lines.append(f"# {step.group}")
        lines.append(f"# {step.comment}")
        macro = getattr(family(step.family).module, step.op)
        lines.extend(wrap(line) for line in str(macro(step)).rstrip("\n").split("\n"))
    return "\n".join(lines)


def render_backward(steps: list[EmitBackStep]) -> str:
    """The reverse pass: each node's VJP macro, then its results summed into cotangents."""
    module: Any = environment().get_template("backward.j2").module  # macros are attributes
    accumulate = module.accumulate
    lines = []
    for step in steps:
        lines.append(f"# {step.comment}")
        macro = getattr(family(step.family).module, step.op)
        code = str(macro(step)) + "".join(str(accumulate(a)) for a in step.adds)
        lines.extend(wrap(line) for line in code.rstrip("\n").split("\n"))
    return "\n".join(lines)


def render_train(tp: TrainPlan) -> str:
    """The training section of the module (``--train``)."""
    return (
        environment()
        .get_template("train.py.j2")
        .render(tp=tp, forward=render_steps(tp.forward), backward=render_backward(tp.backward))
    )


def wrap(line: str, width: int = WIDTH - 4) -> str:
    """A line of code too long for `width`, split the way ``ruff format`` splits it.

    Like ruff (and black), it splits at the right-most top-level bracket pair whose
    opening line and closing line both fit, trying pairs further left when they do
    not (so a call chain ``f(...).g(...)`` may split inside ``f``). The contents go
    on one line between the brackets if they fit, else one item per line with a
    trailing comma, each item split the same way. Step lines hold identifiers,
    numbers and ``ascii`` literals only, so quotes are simple to skip.
    """
    if len(line) <= width:
        return line
    indent = " " * (len(line) - len(line.lstrip()))
    inner = indent + "    "
    groups = _top_groups(line)
    for opener, closer, commas in reversed(groups):
        head, tail = line[: opener + 1], indent + line[closer:]
        if len(head) > width or len(tail) > width:
            continue
        contents = line[opener + 1 : closer].strip()
        if not contents:
            continue
        if len(inner) + len(contents) <= width:
            body = [inner + contents]
        elif not commas:
            body = [_split_operators(inner + contents, width)]
        else:
            bounds = [opener + 1, *(c + 1 for c in commas), closer]
            items = [line[x:y].strip().rstrip(",").strip() for x, y in pairwise(bounds)]
            body = [_split_operators(inner + item + ",", width) for item in items if item]
        return "\n".join([head, *body, tail])
    return line


# Binary operators by how loosely they bind; inside brackets a formatter splits a long
# expression before each of its loosest top-level operators first.
_LOOSENESS = {" + ": 2, " - ": 2, " * ": 1, " / ": 1, " // ": 1, " % ": 1, " @ ": 1}


def _code_chars(line: str) -> Iterator[tuple[int, str, int]]:
    """(index, character, bracket depth before it) of each character of `line` outside
    string literals (their quotes too), so a split never cuts into a string."""
    depth, quote = 0, ""
    for i, char in enumerate(line):
        if quote:
            quote = "" if char == quote and line[i - 1] != "\\" else quote
        elif char in "'\"":
            quote = char
        else:
            yield i, char, depth
            depth += 1 if char in "([{" else -1 if char in ")]}" else 0


def _split_operators(line: str, width: int) -> str:
    """A too-long line inside brackets: split before its loosest top-level binary
    operators (one operand per line), else as `wrap` splits lines."""
    if len(line) <= width:
        return line
    indent = " " * (len(line) - len(line.lstrip()))
    cuts = []
    for i, char, depth in _code_chars(line):
        if depth == 0 and char == " ":
            for op, looseness in _LOOSENESS.items():
                if line.startswith(op, i):
                    cuts.append((looseness, i))
    if not cuts:
        return wrap(line, width)
    loosest = max(looseness for looseness, _ in cuts)
    points = [i for looseness, i in cuts if looseness == loosest]
    pieces = [line[a:b].strip() for a, b in pairwise([0, *points, len(line)])]
    return "\n".join(wrap(indent + piece, width) for piece in pieces)


def _top_groups(line: str) -> list[tuple[int, int, list[int]]]:
    """(open, close, commas directly inside) of each bracket pair at the top level of
    `line`, left to right."""
    groups = []
    stack: list[tuple[int, list[int]]] = []
    for i, char, _ in _code_chars(line):
        if char in "([{":
            stack.append((i, []))
        elif char in ")]}" and stack:
            opener, commas = stack.pop()
            if not stack:
                groups.append((opener, i, commas))
        elif char == "," and stack:
            stack[-1][1].append(i)
    return groups if not stack else []


@cache
def helper(name: str) -> str:
    """The text of helper `name` (one of `HELPERS`), rendered once per process."""
    return str(getattr(environment().get_template("helpers.j2").module, name)())


def used_helpers(direct: set[str]) -> list[str]:
    """`direct` and every helper they call, in definition order."""
    used: set[str] = set()
    pending = list(direct)
    while pending:
        name = pending.pop()
        if name not in used:
            used.add(name)
            pending.extend(HELPERS[name])
    return [h for h in HELPERS if h in used]


def step_helpers(steps: Sequence[EmitStep], backward: Sequence[EmitBackStep] = ()) -> set[str]:
    """The helpers the macros of `steps` and `backward` call directly."""
    names = {h for step in steps for h in step.helpers}
    for back in backward:
        names.update(back.helpers)
        if any(a.unbroadcast and not a.axes for a in back.adds):  # see backward.j2
            names.add("unbroadcast")
    return names


def render_helpers(names: list[str]) -> str:
    return "".join(f"\n{helper(h)}\n" for h in names)


def render(plan: EmitPlan) -> str:
    """The module text for `plan` (with its training section when `plan.train` is set)."""
    body = render_steps(plan.steps)
    train = render_train(plan.train) if plan.train else ""
    direct = step_helpers(plan.steps)
    if plan.train:
        direct |= step_helpers(plan.train.forward, plan.train.backward)
    helpers = used_helpers(direct)
    typed = zeros([*plan.steps, *(plan.train.forward if plan.train else ())])
    text = (
        environment()
        .get_template("module.py.j2")
        .render(plan=plan, body=body, helpers=render_helpers(helpers), train=train, zeros=typed)
    )
    # Loops over nothing leave empty brackets on two lines, optional sections runs of
    # blank lines; a formatter writes `{}` and keeps at most two. (Document text is in
    # one-line literals and comments, so neither pattern can match inside it.)
    text = _EMPTY_BRACKETS.sub(lambda m: m[1] + m[2], text)
    return _EXTRA_BLANK_LINES.sub("\n\n\n", text)


def check_families() -> list[str]:
    """Ops whose family template lacks their macro (for the completeness test)."""
    return [op.name for op in REGISTRY.values() if not hasattr(family(op.family).module, op.macro)]


def check_vjp_macros() -> list[str]:
    """Ops with an exact VJP whose family template lacks ``<op>_vjp`` (completeness test)."""
    return [
        op.name
        for op in REGISTRY.values()
        if op.gradient == "exact" and not hasattr(family(op.family).module, f"{op.macro}_vjp")
    ]
