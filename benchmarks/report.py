"""docs/performance.md's measured sections, from one result file of `run.py`.

``python benchmarks/report.py [RESULTS.json] [--write docs/performance.md]`` prints (or
writes between the page's ``<!-- generated: NAME -->`` / ``<!-- end: NAME -->``
markers) the machine, the results, the busy-core thread comparison and the issue-12
targets. Each target is stated as met; missed by how much; unreachable from NumPy
(when a measured floor of the same run is above it); or not measured (when the
machine was not quiet enough to judge it, see `quiet`). Nothing is typed in by hand,
so the page says what the run measured and nothing else.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import paired
import quiet

HERE = Path(__file__).resolve().parent
PAGE = HERE.parent / "docs" / "performance.md"
BUSY_TOLERANCE = 1.15
"""Issue 12: with one core busy, a code's default must be within this factor of the
faster of its fixed thread choices."""

BUSY_PREFIX = "busy core: "
CODES = ("numpy", "nnspec interpreter", "nnspec compiled")
PRODUCTS = ("floor: products", "matrix products only")
"""Contender names of the products floors (the second: result files before the
floors had layouts)."""
THEIR_PRODUCTS = "its products alone"
"""A contender named "<another contender>: its products alone" times that one's
products without the rest (benchmarks/others.py)."""

Payload = dict[str, Any]


def _time(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    return f"{seconds * 1e3:.2f} ms"


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}x"


# -- was the machine quiet? -------------------------------------------------------------


def _section(payload: Payload, name: str) -> dict[str, Any]:
    return payload["machine"].get("sections", {}).get(name, {})


def unfit(payload: Payload, *, busy: bool, workload: str | None = None) -> str | None:
    """Why the quiet rows (or, with `busy`, the busy-core rows) — of `workload`, when
    given — cannot be judged; None when they can. Busy-core rows are judged as
    designed: one core taken by the benchmark's own spinner and nothing else running.
    Other processes' CPU is taken from the workload's own rounds where the result
    file has it, else from its section as a whole."""
    machine = payload["machine"]
    load = machine.get("load_average_at_start")
    if load is None:
        return "not measured (no load average recorded)"
    if load[0] >= quiet.LOAD_LIMIT:
        return f"not measured (load {load[0]} at start)"
    record = _section(payload, "busy core" if busy else "quiet")
    spinner = record.get("spinner_cores")
    if busy and spinner is not None and spinner < quiet.SPINNER_MIN:
        return f"not measured (the busy-core spinner used only {spinner:.2f} cores)"
    others, during = _workload_others(payload, workload), "its rows"
    if others is None:
        others, during = record.get("other_cores"), "the rows"
    if others is not None and others >= quiet.OTHERS_LIMIT:
        return f"not measured (other processes used {others:.2f} cores during {during})"
    return None


def _workload_others(payload: Payload, workload: str | None) -> float | None:
    found = [
        r["other_cores"]
        for r in payload["results"]
        if r["workload"] == workload and r.get("other_cores") is not None
    ]
    return max(found) if found else None


# -- sections of the page ---------------------------------------------------------------


def machine(payload: Payload) -> str:
    m = payload["machine"]
    blas = "; ".join(
        f"{b['internal_api']} {b['version']} ({b.get('architecture') or '?'} kernel, "
        f"{b['num_threads']} threads, {b.get('threading_layer') or '?'})"
        for b in m.get("blas", [])
    )
    load = m.get("load_average_at_start"), m.get("load_average")
    variables = {k: v for k, v in m.get("thread_variables", {}).items() if v is not None}
    waited = m.get("waited_for_quiet_s")
    lines = [
        f"- Python {m['python']}, NumPy {m['numpy']}, {m['machine']}, "
        f"{m.get('processor') or 'unknown CPU'}, {m['cpus']} CPUs "
        f"({m.get('usable_cores', m['cpus'])} usable by this process)",
        f"- thread pools (threadpoolctl): {blas or 'none found'}",
        f"- thread variables set: {variables or 'none'}; nnspec's auto choice at the end: "
        f"{m.get('nnspec_auto_threads_now')} thread(s)",
        f"- load average (1, 5, 15 min) at the start {load[0]}, at the end {load[1]}"
        + (f" (after waiting {waited} s for it to fall)" if waited else ""),
        f"- measured source: commit {m.get('commit') or 'not recorded'}",
    ]
    if m.get("run_seconds") is not None:
        lines.append(f"- the whole run took {m['run_seconds']:.0f} s, the wait included")
    for name, rows in (("quiet", "the rows"), ("busy core", "the busy-core rows")):
        record = _section(payload, name)
        if record:
            spinner = record.get("spinner_cores")
            lines.append(
                f"- during {rows} ({record.get('seconds')} s): other processes used "
                f"{_cores(record.get('other_cores'))} on average"
                + ("" if spinner is None else f", the benchmark's spinner {_cores(spinner)}")
            )
    if not m.get("sections"):
        lines.append("- other processes' CPU use during the rows: not recorded by this run")
    workloads = [(w, False) for w in dict.fromkeys(t[0] for t in TARGETS)]
    workloads += [
        (w, True)
        for w in dict.fromkeys(r["workload"] for r in payload["results"])
        if w.startswith(BUSY_PREFIX)
    ]
    by_reason: dict[str, list[str]] = {}
    for w, busy in workloads:
        if why := unfit(payload, busy=busy, workload=w):
            name = w.removeprefix(BUSY_PREFIX) + (" with a busy core" if busy else "")
            by_reason.setdefault(why, []).append(name)
    if not by_reason:
        lines.append("- the machine was quiet enough to judge every workload of the targets")
    else:
        told = [
            f"{why} for " + ("all of them" if len(names) == len(workloads) else ", ".join(names))
            for why, names in by_reason.items()
        ]
        lines.append(
            f"- **the machine was not quiet**: of the {len(workloads)} workloads the targets "
            f"read, {sum(map(len, by_reason.values()))} cannot be judged — "
            + "; ".join(told)
            + ". Compare ratios within the run only"
        )
    return "\n".join(lines)


def _cores(value: float | None) -> str:
    return "an unknown number of cores" if value is None else f"{value:.2f} cores"


def spread(samples: list[float]) -> float | None:
    """The rounds' interquartile range over their median (None for fewer than 4)."""
    if len(samples) < 4:
        return None
    q1, _, q3 = statistics.quantiles(samples, n=4)
    return (q3 - q1) / statistics.median(samples)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f} %"


def results(payload: Payload, *, busy: bool) -> str:
    lines = [
        "| workload | contender | median per call | ratio to the first row | spread |",
        "|---|---|---:|---:|---:|",
    ]
    for r in payload["results"]:
        if r["workload"].startswith(BUSY_PREFIX) == busy:
            lines.append(
                f"| {r['workload'].removeprefix(BUSY_PREFIX)} | {r['contender']} "
                f"| {_time(r['median_s'])} | {r['ratio']:.2f}x | {_pct(spread(r['samples']))} |"
            )
    return "\n".join(lines)


def thread_choice(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per busy-core workload and code: its default against the faster of its fixed
    thread choices (by median), round by round — each round times the two in it, so a
    slow spell of the machine hits both: the median of the per-round ratios, their
    smallest and largest, and the sign-test interval of the median (`paired`) against
    `BUSY_TOLERANCE`: ``within`` is "yes" when the whole interval is at or below it,
    "no" when it is above, else "undecided".

    For NumPy "default threads" is the BLAS default, itself a fixed choice; for
    nnspec it is "auto", compared with ``threads=1`` and ``threads=cores``.
    """
    by_workload: dict[str, dict[str, dict[str, Any]]] = {}
    for r in results:
        if r["workload"].startswith(BUSY_PREFIX):
            by_workload.setdefault(r["workload"], {})[r["contender"]] = r
    rows = []
    for workload, runs in by_workload.items():
        for code in CODES:
            default = runs.get(f"{code}, default threads")
            fixed = {
                k: v
                for k, v in runs.items()
                if k.startswith(f"{code}, ") and (code == "numpy" or v is not default)
            }
            if default is None or not fixed:
                continue
            best_name = min(fixed, key=lambda k: fixed[k]["median_s"])
            best = fixed[best_name]
            pairs = len(default["samples"]) == len(best["samples"]) > 0
            ratios = paired.ratios(default["samples"], best["samples"]) if pairs else []
            found = paired.interval(ratios, BUSY_TOLERANCE)
            rows.append(
                {
                    "workload": workload.removeprefix(BUSY_PREFIX),
                    "code": code,
                    "default_s": default["median_s"],
                    "best_fixed": best_name.removeprefix(f"{code}, "),
                    "best_fixed_s": best["median_s"],
                    "ratio": found.median if found else default["median_s"] / best["median_s"],
                    "ratio_range": [min(ratios), max(ratios)] if ratios else None,
                    "interval": [found.low, found.high] if found else None,
                    "coverage": found.coverage if found else None,
                    "within": _within(found),
                }
            )
    return rows


def _within(found: paired.Interval | None) -> str:
    """ "yes" / "no" / "undecided" for a default's rounds against `BUSY_TOLERANCE`."""
    side = found.side if found else "undecided"
    return {"below": "yes", "above": "no"}.get(side, "undecided")


def _interval_cell(row: dict[str, Any]) -> str:
    if not row.get("interval"):
        return "–"
    low, high = row["interval"]
    return f"{low:.2f}–{high:.2f}x ({math.floor(row['coverage'] * 100)} %)"


def threads(payload: Payload) -> str:
    lines = [
        "| workload | code | default | best fixed choice | default / best (median of rounds) "
        f"| interval of the median | within {BUSY_TOLERANCE}x |",
        "|---|---|---:|---|---:|---|---|",
    ]
    for row in thread_choice(payload["results"]):
        reason = unfit(payload, busy=True, workload=BUSY_PREFIX + row["workload"])
        within = {"yes": "yes", "no": "**no**"}.get(row["within"], "undecided")
        lines.append(
            f"| {row['workload']} | {row['code']} | {_time(row['default_s'])} "
            f"| {row['best_fixed']} ({_time(row['best_fixed_s'])}) | {row['ratio']:.2f}x "
            f"| {_interval_cell(row)} | {reason or within} |"
        )
    return "\n".join(lines)


def _ratio(payload: Payload, workload: str, contender: str) -> float | None:
    for r in payload["results"]:
        if r["workload"] == workload and r["contender"] == contender:
            return float(r["ratio"])
    return None


def _is_floor(name: str) -> bool:
    return name.startswith("floor: ") or name == PRODUCTS[1]


def floor(
    payload: Payload, workload: str, *, products: bool, steps: bool | None = None
) -> tuple[float, str] | None:
    """The fastest products floor of `workload` (or, without `products`, the fastest
    of its other floors: NumPy calls and the hand-tuned step; `steps` True or False:
    only the one kind): (ratio, its name)."""
    found = [
        (float(r["ratio"]), r["contender"])
        for r in payload["results"]
        if r["workload"] == workload
        and _is_floor(r["contender"])
        and r["contender"].startswith(PRODUCTS) == products
        and (steps is None or _is_step(r["contender"]) == steps)
    ]
    return min(found) if found else None


def _floor_label(name: str) -> str:
    """ "floor: NumPy calls, W as stored" -> "NumPy calls floor (W as stored)"."""
    if name == PRODUCTS[1]:
        return "products floor"
    kind, _, layout = name.removeprefix("floor: ").partition(", ")
    if kind.endswith(" step"):
        return kind
    return f"{kind} floor" + (f" ({layout})" if layout else "")


TARGETS = [
    # (workload, nnspec contender, what to beat: a contender of the same run or a number)
    ("predict, batch 1", "nnspec compiled", "onnxruntime"),
    ("predict, batch 64", "nnspec compiled", "onnxruntime"),
    ("predict, batch 4096", "nnspec compiled", "onnxruntime"),
    ("predict, batch 4096", "nnspec interpreter", 0.80),
    ("train step, batch 128", "nnspec interpreter", "pytorch eager"),
    ("train step, batch 1024", "nnspec interpreter", "pytorch eager"),
    ("train step, batch 128", "nnspec compiled", "pytorch eager"),
    ("train step, batch 1024", "nnspec compiled", "pytorch eager"),
]


def status(payload: Payload, workload: str, contender: str, goal: str | float) -> str:
    """A target's verdict: not measured; met; undecided; unreachable; missed.

    Met and missed rest on the rounds, not on two medians: the per-round ratio of
    nnspec to the goal (the goal contender's time in the same round, or NumPy's in
    the same round times a fixed goal), its median and sign-test interval
    (`paired`). Met when the whole interval is at or below 1, missed when it is
    above 1, else undecided: the run cannot tell, and the page says so.

    A miss is unreachable when a bound is above the goal in the same way — its own
    per-round ratio to the goal confidently above 1 — and nnspec did not run
    confidently faster than that bound (a floor nnspec beats bounded nothing). The
    bounds are the fastest products floor and the fastest of the other floors (the
    NumPy calls floors and, for a training step, the hand-tuned steps): the best
    renderings found that do no more than the op definitions require, not proofs
    that none is faster."""
    got = _ratio(payload, workload, contender)
    limit = goal if isinstance(goal, float) else _ratio(payload, workload, goal)
    if reason := unfit(payload, busy=False, workload=workload):
        return reason
    if got is None or limit is None:
        return "not measured (contender missing)"
    rounds = paired_interval(payload, workload, contender, goal)
    if rounds is None:
        return "undecided: no paired rounds recorded"
    told = f"nnspec / target per round: {rounds.text()}"
    if rounds.side == "below":
        return f"met ({told})"
    if rounds.side == "undecided":
        why = (
            "within the noise"
            if rounds.coverage >= paired.CONFIDENCE
            else f"{rounds.rounds} round(s) cannot decide at {paired.CONFIDENCE * 100:.0f} %"
        )
        return f"undecided: {why} ({told})"
    floors = [floor(payload, workload, products=p) for p in (True, False)]
    for found in floors:  # the products first: the more basic argument
        if found is None:
            continue
        above = paired_interval(payload, workload, found[1], goal)
        beaten = paired_interval(payload, workload, contender, found[1])
        faster = beaten is not None and beaten.side == "below" and beaten.high < 1.0
        if above is not None and above.side == "above" and not faster:
            return (
                f"**unreachable from NumPy here**: the {_floor_label(found[1])} alone is at "
                f"{found[0]:.2f}x, above the target (floor / target per round: "
                f"{above.text()}){_gap(got, floors)}"
                + _their_products(payload, workload, goal, floors[0])
            )
    missed = f"**missed**: {(rounds.median - 1) * 100:.0f} % slower ({told})"
    return missed + _their_products(payload, workload, goal, floors[0])


def _their_products(
    payload: Payload, workload: str, goal: str | float, ours: tuple[float, str] | None
) -> str:
    """Where the goal contender's own products were timed alone ("GOAL: its products
    alone"): how long they take beside NumPy's, in its BLAS against NumPy's."""
    if not isinstance(goal, str) or ours is None:
        return ""
    theirs = _ratio(payload, workload, f"{goal}: {THEIR_PRODUCTS}")
    if theirs is None:
        return ""
    return f"; {goal}'s own products alone take {theirs:.2f}x, NumPy's {ours[0]:.2f}x"


def _gap(got: float, floors: list[tuple[float, str] | None]) -> str:
    """How far nnspec is above the closest floor it did not beat: what is still ours to
    remove (the NumPy-calls floor is the closest a NumPy rendering can come)."""
    below = [f for f in floors if f is not None and f[0] <= got]
    if not below:
        return ""
    closest = max(below)
    return f"; nnspec is {got - closest[0]:.2f} above the {_floor_label(closest[1])}"


def _is_step(name: str) -> bool:
    return name.removeprefix("floor: ").partition(", ")[0].endswith(" step")


def _samples(payload: Payload, workload: str, contender: str) -> list[float] | None:
    for r in payload["results"]:
        if r["workload"] == workload and r["contender"] == contender:
            return r.get("samples")
    return None


def paired_interval(
    payload: Payload, workload: str, contender: str, goal: str | float
) -> paired.Interval | None:
    """The per-round ratios of `contender` to its goal, as a median with its interval:
    to the goal contender's time in the same round, or (a fixed goal) to NumPy's in
    the same round times the goal. Above 1 a round missed, at or below 1 it met.
    None when either has no samples, or not one per round of the other."""
    own = _samples(payload, workload, contender)
    other = _samples(payload, workload, goal if isinstance(goal, str) else "numpy")
    if not own or not other or len(own) != len(other):
        return None
    scale = 1.0 if isinstance(goal, str) else float(goal)
    return paired.interval(paired.ratios(own, other, scale))


def _floor_cell(found: tuple[float, str] | None) -> str:
    if found is None:
        return "–"
    layout = found[1].partition(", ")[2]
    return f"{found[0]:.2f}x" + (f" ({layout})" if layout else "")


def targets(payload: Payload) -> str:
    lines = [
        "| target (ratio to NumPy, same run) | measured | floor: products (fastest layout) "
        "| floor: NumPy calls / hand-tuned step | status |",
        "|---|---:|---:|---:|---|",
    ]
    for workload, contender, goal in TARGETS:
        got = _ratio(payload, workload, contender)
        limit = goal if isinstance(goal, float) else _ratio(payload, workload, goal)
        floors = [floor(payload, workload, products=p) for p in (True, False)]
        step = floor(payload, workload, products=False, steps=True)
        calls = _floor_cell(floor(payload, workload, products=False, steps=False))
        calls += "" if step is None else f" / {step[0]:.2f}x"
        name = f"{contender}, {workload} <= " + (
            f"{goal:.2f}x" if isinstance(goal, float) else f"{goal} ({_fmt(limit)})"
        )
        lines.append(
            f"| {name} | {_fmt(got)} | {_floor_cell(floors[0])} | {calls} "
            f"| {status(payload, workload, contender, goal)} |"
        )
    lines.append(busy_target(payload))
    return "\n".join(lines)


NAMED_ROWS = 3
"""The busy-core target names at most this many rows of a kind; more are counted."""


def busy_target(payload: Payload) -> str:
    """The busy-core target's row: every nnspec default within `BUSY_TOLERANCE` of
    its best fixed choice, over the workloads that can be judged — met when every
    judged row's interval is at or below it, missed when one is above it, else
    undecided (the rows whose interval holds the tolerance are named)."""
    rows = [r for r in thread_choice(payload["results"]) if r["code"] != "numpy"]
    reasons = {
        r["workload"]: unfit(payload, busy=True, workload=BUSY_PREFIX + r["workload"]) for r in rows
    }
    judged = [r for r in rows if reasons[r["workload"]] is None]
    missed = [r for r in judged if r["within"] == "no"]
    open_rows = [r for r in judged if r["within"] == "undecided"]
    skipped = {w: why for w, why in reasons.items() if why}

    def named(found: list[dict[str, Any]]) -> str:
        if len(found) > NAMED_ROWS:  # the threads table lists each
            return f"{len(found)} rows (each in the table of the Threads section)"
        return "; ".join(
            f"{r['code']}, {r['workload']} {r['ratio']:.2f}x ({_interval_cell(r)})" for r in found
        )

    if not rows:
        verdict = "not measured (no busy-core rows)"
    elif not judged:
        verdict = next(iter(skipped.values()))
    elif missed:
        verdict = "**missed**: " + named(missed)
        if open_rows:
            verdict += "; undecided: " + named(open_rows)
    elif open_rows:
        verdict = "undecided: within the noise for " + named(open_rows)
    else:
        verdict = "met"
    if judged and skipped:
        verdict += "; not judged: " + "; ".join(f"{w} {why}" for w, why in skipped.items())
    count = f"{sum(r['within'] == 'yes' for r in judged)} of {len(judged)}"
    return (
        f"| every nnspec busy-core row: default within {BUSY_TOLERANCE}x of the best "
        f"fixed thread choice | {count} | | | {verdict} |"
    )


def _figure(name: str, value: float) -> str:
    """A figure as printed; a per-node overhead at or below zero is a slope under the
    timer's resolution, not a measurement, and says so."""
    if name == "interpreter_overhead_seconds_per_node" and value <= 0:
        return f"below resolution (slope {value:.2g})"
    return f"{value:.4g}"


def figures(payload: Payload) -> str:
    rows = [f"| {k} | {_figure(k, v)} |" for k, v in payload["figures"].items()]
    return "\n".join(["| figure | value |", "|---|---:|", *rows])


SECTIONS = {
    "machine": machine,
    "results": lambda p: results(p, busy=False),
    "figures": figures,
    "targets": targets,
    "busy": lambda p: results(p, busy=True),
    "threads": threads,
}


def render(page: str, payload: Payload) -> str:
    """`page` with every generated section replaced by its text from `payload`."""
    for name, make in SECTIONS.items():
        begin, end = f"<!-- generated: {name} -->\n", f"<!-- end: {name} -->"
        start = page.find(begin)
        stop = page.find(end, start)
        if start < 0 or stop < 0:
            raise SystemExit(f"the page has no '{begin.strip()}' ... '{end}' section")
        page = page[: start + len(begin)] + make(payload) + "\n" + page[stop:]
    return page


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("results", nargs="?", type=Path, default=HERE / "results" / "latest.json")
    parser.add_argument("--write", type=Path, help="the page to update (docs/performance.md)")
    args = parser.parse_args(argv)
    payload = json.loads(args.results.read_text(encoding="utf-8"))
    if args.write:
        args.write.write_text(render(args.write.read_text(encoding="utf-8"), payload), "utf-8")
    else:
        for name, make in SECTIONS.items():
            print(f"## {name}\n\n{make(payload)}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
