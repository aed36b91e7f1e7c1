"""docs/performance.md's measured sections, from one result file of `run.py`.

``python benchmarks/report.py [RESULTS.json] [--write docs/performance.md]`` prints (or
writes between the page's ``<!-- generated: NAME -->`` / ``<!-- end: NAME -->``
markers) the machine, the results, the busy-core thread comparison and the issue-12
targets, each stated as met or missed by how much. Nothing is typed in by hand, so
the page says what the run measured and nothing else.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PAGE = HERE.parent / "docs" / "performance.md"
BUSY_TOLERANCE = 1.15
"""Issue 12: with one core busy, a code's default must be within this factor of the
faster of its fixed thread choices."""


def _time(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    return f"{seconds * 1e3:.2f} ms"


def machine(payload: dict[str, Any]) -> str:
    m = payload["machine"]
    blas = "; ".join(
        f"{b['internal_api']} {b['version']} ({b.get('architecture') or '?'} kernel, "
        f"{b['num_threads']} threads, {b.get('threading_layer') or '?'})"
        for b in m.get("blas", [])
    )
    load = m.get("load_average_at_start"), m.get("load_average")
    variables = {k: v for k, v in m.get("thread_variables", {}).items() if v is not None}
    lines = [
        f"- Python {m['python']}, NumPy {m['numpy']}, {m['machine']}, "
        f"{m.get('processor') or 'unknown CPU'}, {m['cpus']} CPUs "
        f"({m.get('usable_cores', m['cpus'])} usable by this process)",
        f"- thread pools (threadpoolctl): {blas or 'none found'}",
        f"- thread variables set: {variables or 'none'}; nnspec's auto choice at the end: "
        f"{m.get('nnspec_auto_threads_now')} thread(s)",
        f"- load average (1, 5, 15 min) at the start {load[0]}, at the end {load[1]}",
        f"- measured source: commit {m.get('commit') or 'not recorded'}",
    ]
    busy = (load[0] or [0])[0] >= 0.5 * m["cpus"]
    lines.append(
        "- **the machine was loaded** during this run (other processes were running), so "
        "absolute times are slower and noisier than on a quiet machine; compare ratios "
        "within the run only"
        if busy
        else "- the machine was mostly idle at the start of this run"
    )
    return "\n".join(lines)


def results(payload: dict[str, Any], *, busy: bool) -> str:
    lines = [
        "| workload | contender | median per call | ratio to the first row |",
        "|---|---|---:|---:|",
    ]
    for r in payload["results"]:
        if r["workload"].startswith("busy core: ") == busy:
            lines.append(
                f"| {r['workload'].removeprefix('busy core: ')} | {r['contender']} "
                f"| {_time(r['median_s'])} | {r['ratio']:.2f}x |"
            )
    return "\n".join(lines)


def threads(payload: dict[str, Any]) -> str:
    lines = [
        "| workload | code | default | best fixed choice | default / best | within "
        f"{BUSY_TOLERANCE}x |",
        "|---|---|---:|---|---:|---|",
    ]
    for row in payload.get("thread_choice", []):
        ok = row["ratio"] <= BUSY_TOLERANCE
        lines.append(
            f"| {row['workload']} | {row['code']} | {_time(row['default_s'])} "
            f"| {row['best_fixed']} ({_time(row['best_fixed_s'])}) | {row['ratio']:.2f}x "
            f"| {'yes' if ok else '**no**'} |"
        )
    return "\n".join(lines)


def _ratio(payload: dict[str, Any], workload: str, contender: str) -> float | None:
    for r in payload["results"]:
        if r["workload"] == workload and r["contender"] == contender:
            return float(r["ratio"])
    return None


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


def targets(payload: dict[str, Any]) -> str:
    lines = [
        "| target (ratio to NumPy, same run) | measured | floor: products only | status |",
        "|---|---:|---:|---|",
    ]
    for workload, contender, goal in TARGETS:
        got = _ratio(payload, workload, contender)
        limit = goal if isinstance(goal, float) else _ratio(payload, workload, goal)
        floor = _ratio(payload, workload, "matrix products only")
        name = f"{contender}, {workload} <= " + (
            f"{goal:.2f}x" if isinstance(goal, float) else f"{goal} ({_fmt(limit)})"
        )
        if got is None or limit is None:
            status = "not measured (contender missing)"
        elif got <= limit:
            status = "met"
        else:
            status = f"**missed** by {got - limit:.2f} ({(got / limit - 1) * 100:.0f} % slower)"
            if floor is not None and floor > limit:
                status += "; the products alone are above the target"
        lines.append(f"| {name} | {_fmt(got)} | {_fmt(floor)} | {status} |")
    rows = [r for r in payload.get("thread_choice", []) if r["code"] != "numpy"]
    missed = [r for r in rows if r["ratio"] > BUSY_TOLERANCE]
    lines.append(
        f"| every nnspec busy-core row: default within {BUSY_TOLERANCE}x of the best "
        f"fixed thread choice | {len(rows) - len(missed)} of {len(rows)} | | "
        + ("met" if rows and not missed else "**missed**: " + _busy_misses(missed))
        + " |"
    )
    return "\n".join(lines)


def _busy_misses(rows: list[dict[str, Any]]) -> str:
    return (
        "; ".join(f"{r['code']}, {r['workload']} {r['ratio']:.2f}x" for r in rows)
        or "none measured"
    )


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}x"


def figures(payload: dict[str, Any]) -> str:
    rows = [f"| {k} | {v:.4g} |" for k, v in payload["figures"].items()]
    return "\n".join(["| figure | value |", "|---|---:|", *rows])


SECTIONS = {
    "machine": machine,
    "results": lambda p: results(p, busy=False),
    "figures": figures,
    "targets": targets,
    "busy": lambda p: results(p, busy=True),
    "threads": threads,
}


def render(page: str, payload: dict[str, Any]) -> str:
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
