"""benchmarks/report.py's judgement, on synthetic result files (no timing).

A target is met or missed only when the sign-test interval of the median per-round
ratio (nnspec / goal, the two timed in the same rounds) lies on one side of 1, else
undecided; a miss is unreachable from NumPy when a measured floor of the same run is
above the goal in the same way; not measured when the machine was not quiet. The
busy-core rows compare each code's default with its best fixed thread choice round
by round, against 1.15x in the same way.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
pytestmark = pytest.mark.skipif(not BENCHMARKS.exists(), reason="benchmarks/ is not shipped here")


@pytest.fixture(scope="module")
def report() -> Any:
    sys.path.insert(0, str(BENCHMARKS))
    try:
        yield importlib.import_module("report")
    finally:
        sys.path.remove(str(BENCHMARKS))


def row(workload: str, contender: str, ratio: float, samples: list[float] | None = None):
    samples = samples or [ratio * 1e-3] * 7
    return {
        "workload": workload,
        "contender": contender,
        "median_s": sorted(samples)[len(samples) // 2],
        "ratio": ratio,
        "samples": samples,
    }


def payload(
    rows: list[dict[str, Any]],
    *,
    load: float = 0.1,
    others: float | None = 0.01,
    busy_others: float | None = 0.01,
    spinner: float | None = 1.0,
) -> dict[str, Any]:
    return {
        "machine": {
            "python": "3",
            "numpy": "2",
            "machine": "x86_64",
            "cpus": 2,
            "load_average_at_start": [load, load, load],
            "load_average": [1.0, 1.0, 1.0],
            "sections": {
                "quiet": {"seconds": 100.0, "other_cores": others},
                "busy core": {
                    "seconds": 60.0,
                    "other_cores": busy_others,
                    "spinner_cores": spinner,
                },
            },
        },
        "results": rows,
        "figures": {"gemm_gflops_float32": 100.0},
    }


P1 = "predict, batch 1"


def predict_rows(compiled: float, onnx: float, products: float, calls: float) -> list[dict]:
    return [
        row(P1, "numpy", 1.0),
        row(P1, "nnspec compiled", compiled),
        row(P1, "onnxruntime", onnx),
        row(P1, "floor: NumPy calls, W as stored", calls + 0.1),
        row(P1, "floor: NumPy calls, W pre-transposed", calls),
        row(P1, "floor: products, W as stored", products),
        row(P1, "floor: products, W pre-transposed", products + 0.05),
    ]


def target_line(report: Any, data: dict[str, Any], start: str) -> str:
    lines = [line for line in report.targets(data).splitlines() if line.startswith(start)]
    assert len(lines) == 1, lines
    return lines[0]


def test_a_target_at_or_below_its_goal_is_met(report: Any) -> None:
    line = target_line(
        report, payload(predict_rows(0.70, 0.72, 0.5, 0.6)), "| nnspec compiled, predict, batch 1"
    )
    assert line.endswith(
        "| met (nnspec / target per round: median 0.97, 98 % interval 0.97–0.97, "
        "above 1 in 0 of 7 rounds) |"
    )
    assert "0.70x" in line and "onnxruntime (0.72x)" in line


@pytest.mark.parametrize(
    ("rows", "miss"),
    [
        # every floor below the goal
        (predict_rows(0.98, 0.72, 0.60, 0.70), "**missed**: 36 % slower"),
        # the calls floor (0.90x) is above the goal, but nnspec ran faster than it in
        # this run: that floor bounded nothing, so the miss is a plain miss
        (predict_rows(0.85, 0.72, 0.60, 0.90), "**missed**: 18 % slower"),
    ],
)
def test_a_miss_no_bound_explains_says_by_how_much(
    report: Any, rows: list[dict], miss: str
) -> None:
    line = target_line(report, payload(rows), "| nnspec compiled, predict, batch 1")
    assert miss in line
    assert "unreachable" not in line


def test_a_products_floor_above_the_goal_makes_it_unreachable(report: Any) -> None:
    line = target_line(
        report, payload(predict_rows(1.01, 0.62, 0.69, 0.80)), "| nnspec compiled, predict, batch 1"
    )
    # the fastest products layout is named, and it is the argument (the more basic floor)
    assert "0.69x (W as stored)" in line
    assert (
        "**unreachable from NumPy here**: the products floor (W as stored) alone is at 0.69x, "
        "above the target" in line
    )


def test_a_calls_floor_above_the_goal_makes_it_unreachable_when_the_products_are_below(
    report: Any,
) -> None:
    line = target_line(
        report, payload(predict_rows(1.01, 0.72, 0.60, 0.80)), "| nnspec compiled, predict, batch 1"
    )
    assert "0.80x (W pre-transposed)" in line  # the faster calls layout
    assert "the NumPy calls floor (W pre-transposed) alone is at 0.80x, above the target" in line


T1024 = "train step, batch 1024"


def train_rows(ratios: dict[str, float]) -> list[dict]:
    """Batch-1024 training rows: NumPy at 1.00x, then each contender at its ratio."""
    return [row(T1024, "numpy", 1.0), *(row(T1024, c, r) for c, r in ratios.items())]


def train_line(report: Any, contender: str, ratios: dict[str, float]) -> str:
    """The batch-1024 target line of `contender` against PyTorch, for these rows."""
    rows = train_rows({contender: ratios.pop("nnspec"), **ratios})
    return target_line(report, payload(rows), f"| {contender}, train step, batch 1024")


STEP = "floor: hand-tuned NumPy step"
CALLS_STEP = "floor: NumPy calls, W as stored"
PRODUCTS_STEP = "floor: products, W as stored"


def test_the_hand_tuned_step_bounds_the_training_step(report: Any) -> None:
    line = train_line(
        report,
        "nnspec interpreter",
        {"nnspec": 1.26, "pytorch eager": 0.82, STEP: 0.90, PRODUCTS_STEP: 0.76},
    )
    # no NumPy rendering found does less than the hand-tuned step (lr folded in)
    assert "**unreachable from NumPy here**: the hand-tuned NumPy step alone is at 0.90x" in line
    assert "| 0.76x (W as stored) | – / 0.90x |" in line


@pytest.mark.parametrize("calls", [0.94, 0.90, 0.86])
def test_the_fastest_training_floor_is_the_bound(report: Any, calls: float) -> None:
    ratios = {"nnspec": 0.95, "pytorch eager": 0.88, STEP: 0.92, PRODUCTS_STEP: 0.75}
    line = train_line(report, "nnspec compiled", {**ratios, CALLS_STEP: calls})
    assert f"| 0.75x (W as stored) | {calls:.2f}x (W as stored) / 0.92x |" in line
    if calls < 0.88:  # the fastest floor is below the goal: it bounds nothing
        assert line.endswith(
            "| **missed**: 8 % slower (nnspec / target per round: median "
            "1.08, 98 % interval 1.08–1.08, above 1 in 7 of 7 rounds) |"
        ), line
        return
    fastest = (
        ("NumPy calls floor (W as stored)", calls)
        if calls < 0.92
        else ("hand-tuned NumPy step", 0.92)
    )
    assert f"unreachable from NumPy here**: the {fastest[0]} alone is at {fastest[1]:.2f}x" in line


def test_a_miss_cites_the_goals_own_products_when_they_were_timed(report: Any) -> None:
    rows = train_rows(
        {"nnspec compiled": 0.99, "pytorch eager": 0.85, "floor: products, W as stored": 0.76}
    )
    line = target_line(report, payload(rows), "| nnspec compiled, train step, batch 1024")
    assert "**missed**" in line and "its products alone" not in line
    rows.append(row(T1024, "pytorch eager: its products alone", 0.68))
    line = target_line(report, payload(rows), "| nnspec compiled, train step, batch 1024")
    assert line.endswith("; pytorch eager's own products alone take 0.68x, NumPy's 0.76x |"), line
    # the row is no floor of ours: it neither bounds nor shows in the floor columns
    assert "0.68x |" not in line.split("| **missed**")[0]


def test_the_products_rows_name_agrees_with_the_report(report: Any) -> None:
    others = importlib.import_module("others")
    assert f"pytorch eager: {report.THEIR_PRODUCTS}" == others.TORCH_PRODUCTS


def test_a_products_floor_equal_to_the_nnspec_row_still_bounds_it(report: Any) -> None:
    line = target_line(
        report, payload(predict_rows(0.80, 0.72, 0.80, 0.90)), "| nnspec compiled, predict, batch 1"
    )
    assert "the products floor (W as stored) alone is at 0.80x" in line


def test_result_files_from_before_the_layouts_still_read(report: Any) -> None:
    rows = [row(P1, "numpy", 1.0), row(P1, "nnspec compiled", 1.0), row(P1, "onnxruntime", 0.6)]
    rows.append(row(P1, "matrix products only", 0.65))
    line = target_line(report, payload(rows), "| nnspec compiled, predict, batch 1")
    assert "the products floor alone is at 0.65x" in line


def test_a_missing_contender_is_not_measured(report: Any) -> None:
    rows = [row(P1, "numpy", 1.0), row(P1, "nnspec compiled", 0.9)]
    line = target_line(report, payload(rows), "| nnspec compiled, predict, batch 1")
    assert line.endswith("| not measured (contender missing) |")


@pytest.mark.parametrize(
    ("settings", "reason"),
    [
        ({"load": 1.3}, "not measured (load 1.3 at start)"),
        ({"load": 0.5}, "not measured (load 0.5 at start)"),
        ({"others": 0.4}, "not measured (other processes used 0.40 cores during the rows)"),
    ],
)
def test_a_busy_machine_judges_no_target(report: Any, settings: dict, reason: str) -> None:
    data = payload(predict_rows(0.70, 0.72, 0.5, 0.6), **settings)
    table = report.targets(data).splitlines()[2:]
    assert len(table) == len(report.TARGETS) + 1
    assert all(line.endswith(f"| {reason} |") for line in table[:-1]), table
    assert "met" not in " ".join(table) and "missed" not in " ".join(table)
    assert "**the machine was not quiet**" in report.machine(data)


def test_a_quiet_machine_says_so(report: Any) -> None:
    data = payload(predict_rows(0.70, 0.72, 0.5, 0.6))
    assert report.unfit(data, busy=False) is None and report.unfit(data, busy=True) is None
    text = report.machine(data)
    assert "quiet enough to judge every workload of the targets" in text
    assert "other processes used 0.01 cores" in text and "spinner 1.00 cores" in text
    assert "the whole run took" not in text  # not recorded by this (older) result file
    data["machine"]["run_seconds"] = 283.4
    assert "- the whole run took 283 s, the wait included" in report.machine(data)


def busy_rows(workload: str, code: str, one: list[float], cores: list[float], auto: list[float]):
    w = f"busy core: {workload}"
    return [
        row(w, f"{code}, 1 BLAS thread", 1.0, one),
        row(w, f"{code}, 2 BLAS threads", 1.0, cores),
        row(w, f"{code}, default threads", 1.0, auto),
    ]


def test_the_busy_core_rows_compare_round_by_round(report: Any) -> None:
    # the machine drifts slower over the rounds and one spell hits auto's first round:
    # round by round auto is about 1.06x of one thread, the medians alone say 1.21x
    one = [1.0e-2, 1.2e-2, 1.4e-2, 1.6e-2, 1.8e-2]
    auto = [1.9e-2, 1.3e-2, 1.45e-2, 1.7e-2, 1.85e-2]
    rows = busy_rows("train step, batch 1024", "nnspec compiled", one, [3e-2] * 5, auto)
    (choice,) = report.thread_choice(rows)
    assert choice["best_fixed"] == "1 BLAS thread"
    assert choice["ratio"] == pytest.approx(1.7 / 1.6)
    assert choice["ratio_range"] == pytest.approx([1.85 / 1.8, 1.9])
    # five rounds: even their full range covers the median with only 94 %: no verdict
    assert choice["interval"] == pytest.approx([1.85 / 1.8, 1.9])
    assert choice["within"] == "undecided"
    assert "| 1.06x | 1.03–1.90x (93 %) | undecided |" in report.threads(payload(rows))


def test_numpys_default_is_one_of_its_fixed_choices_and_nnspecs_auto_is_not(report: Any) -> None:
    w = "busy core: predict, batch 64"
    rows = [
        row(w, "numpy, default threads", 1.0, [1e-3] * 5),
        row(w, "numpy, 1 BLAS thread", 2.0, [2e-3] * 5),
        *busy_rows("predict, batch 64", "nnspec interpreter", [2e-3] * 5, [3e-3] * 5, [1e-3] * 5),
    ]
    by_code = {c["code"]: c for c in report.thread_choice(rows)}
    assert by_code["numpy"]["best_fixed"] == "default threads"
    assert by_code["numpy"]["ratio"] == 1.0
    assert by_code["nnspec interpreter"]["best_fixed"] == "1 BLAS thread"
    assert by_code["nnspec interpreter"]["ratio"] == pytest.approx(0.5)


def test_the_busy_core_target_is_judged_as_designed(report: Any) -> None:
    slow = busy_rows(
        "train step, batch 1024", "nnspec compiled", [1e-2] * 7, [2e-2] * 7, [1.2e-2] * 7
    )
    quick = busy_rows("predict, batch 64", "nnspec compiled", [1e-3] * 7, [2e-3] * 7, [1e-3] * 7)
    rows = predict_rows(0.70, 0.72, 0.5, 0.6) + slow + quick
    line = target_line(report, payload(rows), "| every nnspec busy-core row")
    assert "| 1 of 2 |" in line
    assert "**missed**: nnspec compiled, train step, batch 1024 1.20x (1.20–1.20x (98 %))" in line
    # another process besides the spinner, or a spinner that did not spin: not judged,
    # while the quiet rows still are
    for settings, reason in (
        ({"busy_others": 0.5}, "other processes used 0.50 cores during the rows"),
        ({"spinner": 0.3}, "the busy-core spinner used only 0.30 cores"),
    ):
        data = payload(rows, **settings)
        assert target_line(report, data, "| every nnspec busy-core row").endswith(
            f"| not measured ({reason}) |"
        )
        assert "| met (nnspec" in target_line(report, data, "| nnspec compiled, predict, batch 1")
        assert f"| not measured ({reason}) |" in report.threads(data)


def test_spread_is_the_interquartile_range_over_the_median(report: Any) -> None:
    assert report.spread([1.0, 1.0, 1.0]) is None
    assert report.spread([1.0] * 7) == 0.0
    assert report.spread([0.9, 1.0, 1.0, 1.0, 1.1, 1.2, 2.0]) == pytest.approx(0.2)


def test_a_page_without_a_section_is_refused(report: Any) -> None:
    with pytest.raises(SystemExit, match="generated: machine"):
        report.render("# no sections\n", payload([]))


def test_other_load_during_one_workload_leaves_the_others_judged(report: Any) -> None:
    w64 = "predict, batch 64"
    rows = predict_rows(0.70, 0.72, 0.5, 0.6)
    rows += [
        {**row(w64, name, ratio), "other_cores": 0.6}
        for name, ratio in (("numpy", 1.0), ("nnspec compiled", 0.7), ("onnxruntime", 0.8))
    ]
    rows = [{**r, "other_cores": r.get("other_cores", 0.02)} for r in rows]
    data = payload(rows)
    assert "| met (nnspec" in target_line(report, data, "| nnspec compiled, predict, batch 1")
    assert target_line(report, data, "| nnspec compiled, predict, batch 64").endswith(
        "| not measured (other processes used 0.60 cores during its rows) |"
    )
    assert (
        "**the machine was not quiet**: of the 5 workloads the targets read, 1 cannot be "
        "judged — not measured (other processes used 0.60 cores during its rows) for "
        "predict, batch 64." in report.machine(data)
    )


def test_a_disturbed_busy_workload_is_left_out_of_the_busy_target(report: Any) -> None:
    slow = busy_rows(
        "train step, batch 1024", "nnspec compiled", [1e-2] * 7, [2e-2] * 7, [1.2e-2] * 7
    )
    fine = busy_rows("predict, batch 64", "nnspec compiled", [1e-3] * 7, [2e-3] * 7, [1e-3] * 7)
    rows = [{**r, "other_cores": 0.7} for r in slow] + [{**r, "other_cores": 0.0} for r in fine]
    line = target_line(report, payload(rows), "| every nnspec busy-core row")
    assert "| 1 of 1 |" in line
    assert line.endswith(
        "| met; not judged: train step, batch 1024 not measured (other processes used 0.70 "
        "cores during its rows) |"
    )
    table = report.threads(payload(rows))
    assert "| 1.00x | 1.00–1.00x (98 %) | yes |" in table
    assert "| 1.20x | 1.20–1.20x (98 %) | not measured (other processes used 0.70 cores" in table


def test_rounds_on_both_sides_of_the_goal_leave_the_target_undecided(report: Any) -> None:
    # per round, compiled / onnxruntime: 0.9, 1.2, 0.95, 1.1, 1.05, 0.97, 1.15
    own = [0.9e-3, 1.2e-3, 0.95e-3, 1.1e-3, 1.05e-3, 0.97e-3, 1.15e-3]
    rows = [
        row(P1, "numpy", 1.0),
        row(P1, "nnspec compiled", 1.05, own),
        row(P1, "onnxruntime", 1.0),
    ]
    line = target_line(report, payload(rows), "| nnspec compiled, predict, batch 1")
    assert line.endswith(
        "| undecided: within the noise (nnspec / target per round: median 1.05, "
        "98 % interval 0.90–1.20, above 1 in 4 of 7 rounds) |"
    )
    # a fixed goal pairs each round with NumPy's time in that round, times the goal
    found = report.paired_interval(payload(rows), P1, "nnspec compiled", 0.5)
    assert (found.low, found.median, found.high) == pytest.approx((1.8, 2.1, 2.4))


def test_many_rounds_decide_what_a_few_cannot(report: Any) -> None:
    """21 rounds of a 4 % gap under noise of +-25 %: the 6th smallest and largest ratio
    (97 % coverage) are both above 1; the first 7 of them alone span 1."""
    noise = [1.0, 0.8, 1.25, 1.05, 0.95, 1.1, 1.02, 1.08, 1.15, 1.07, 1.03]
    noise += [1.06, 1.12, 1.04, 1.09, 1.01, 1.2, 1.05, 1.11, 1.13, 1.06]
    goal = [1e-3] * 21
    own = [1e-3 * n for n in noise]
    w = "train step, batch 1024"

    def line(rounds: int) -> str:
        rows = [
            row(w, "numpy", 1.0, [1e-3] * rounds),
            row(w, "nnspec interpreter", 1.05, own[:rounds]),
            row(w, "pytorch eager", 1.0, goal[:rounds]),
        ]
        return target_line(report, payload(rows), "| nnspec interpreter, train step, batch 1024")

    assert "| **missed**: 6 % slower (nnspec / target per round: median 1.06, 97 % interval " in (
        line(21)
    )
    assert "1.03–1.11, above 1 in 18 of 21 rounds) |" in line(21)
    assert "| undecided: within the noise (nnspec / target per round: median 1.02, 98 % " in (
        line(7)
    )
    assert "| undecided: 5 round(s) cannot decide at 95 % (" in line(5)


def test_the_rounds_decide_where_two_medians_mislead(report: Any) -> None:
    # a slow spell hits PyTorch's first round only, the machine drifts slower after it:
    # nnspec's median (1.365 ms) is below PyTorch's (1.4 ms), yet in 8 of 9 rounds
    # nnspec took 5 % longer than PyTorch in the same round
    goal = [2.5e-3, 1.0e-3, 1.1e-3, 1.2e-3, 1.3e-3, 1.4e-3, 1.5e-3, 1.6e-3, 1.7e-3]
    own = [1.0e-3, *(t * 1.05 for t in goal[1:])]
    w = "train step, batch 128"
    rows = [
        row(w, "numpy", 1.0, [1e-3] * 9),
        row(w, "nnspec compiled", 1.365, own),
        row(w, "pytorch eager", 1.4, goal),
    ]
    line = target_line(report, payload(rows), "| nnspec compiled, train step, batch 128")
    assert "| 1.36x |" in line  # the measured column: the ratio of medians, below 1.40x
    assert line.endswith(
        "| **missed**: 5 % slower (nnspec / target per round: median 1.05, 96 % interval "
        "1.05–1.05, above 1 in 8 of 9 rounds) |"
    )


def test_a_result_without_samples_is_undecided(report: Any) -> None:
    rows = [{**r, "samples": []} for r in predict_rows(0.70, 0.72, 0.5, 0.6)]
    line = target_line(report, payload(rows), "| nnspec compiled, predict, batch 1")
    assert line.endswith("| undecided: no paired rounds recorded |")


def test_a_floor_above_the_goal_only_by_its_median_proves_nothing(report: Any) -> None:
    # the products floor's median (0.69x) is above onnxruntime's (0.62x), but round by
    # round it beat onnxruntime in 3 of 7: the target is missed, not unreachable
    rows = predict_rows(1.01, 0.62, 0.69, 0.80)
    spread = [0.5, 0.55, 0.6, 1.2, 1.3, 1.35, 1.4]
    for r in rows:
        if r["contender"] == "floor: products, W as stored":
            r["samples"] = [0.62e-3 * f for f in spread]
    line = target_line(report, payload(rows), "| nnspec compiled, predict, batch 1")
    assert "unreachable" in line  # the NumPy calls floor still bounds it, confidently
    assert "the NumPy calls floor (W pre-transposed) alone is at 0.80x" in line
    for r in rows:
        if r["contender"].startswith("floor: NumPy calls"):
            r["samples"] = [0.62e-3 * f for f in spread]
    line = target_line(report, payload(rows), "| nnspec compiled, predict, batch 1")
    assert "**missed**: 63 % slower" in line and "unreachable" not in line


def test_a_busy_row_within_the_noise_leaves_the_busy_target_undecided(report: Any) -> None:
    spread = [1.0e-3, 1.3e-3, 0.9e-3, 1.2e-3, 1.1e-3, 1.25e-3, 0.95e-3]
    rows = busy_rows("predict, batch 64", "nnspec compiled", [1e-3] * 7, [2e-3] * 7, spread)
    line = target_line(report, payload(rows), "| every nnspec busy-core row")
    assert "| 0 of 1 |" in line
    assert line.endswith(
        "| undecided: within the noise for nnspec compiled, predict, batch 64 1.10x "
        "(0.90–1.30x (98 %)) |"
    )


def test_an_unreachable_target_says_how_far_nnspec_is_above_the_calls_floor(
    report: Any,
) -> None:
    line = target_line(
        report, payload(predict_rows(1.01, 0.62, 0.69, 0.80)), "| nnspec compiled, predict, batch 1"
    )
    assert "nnspec is 0.21 above the NumPy calls floor (W pre-transposed)" in line


@pytest.mark.parametrize(
    ("value", "shown"),
    [(-7.8e-09, "below resolution (slope -7.8e-09)"), (0.0, "below resolution"), (2e-7, "2e-07")],
)
def test_a_per_node_overhead_below_zero_is_not_printed_as_a_measurement(
    report: Any, value: float, shown: str
) -> None:
    data = payload([])
    data["figures"] = {"interpreter_overhead_seconds_per_node": value}
    assert f"| interpreter_overhead_seconds_per_node | {shown}" in report.figures(data)


def test_many_undecided_busy_rows_are_counted_not_listed(report: Any) -> None:
    spread = [1.0e-3, 1.3e-3, 0.9e-3, 1.2e-3, 1.1e-3, 1.25e-3, 0.95e-3]
    rows = []
    for workload in ("predict, batch 1", "predict, batch 64"):
        for code in ("nnspec interpreter", "nnspec compiled"):
            rows += busy_rows(workload, code, [1e-3] * 7, [2e-3] * 7, spread)
    line = target_line(report, payload(rows), "| every nnspec busy-core row")
    assert line.endswith(
        "| undecided: within the noise for 4 rows (each in the table of the Threads section) |"
    )
