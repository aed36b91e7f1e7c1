"""Smoke run of the benchmark suite (``benchmarks/run.py --quick``) so it cannot rot.

Tiny sizes, one round: it checks that every workload runs, that every contender
passed its agreement check against NumPy (the suite raises otherwise) and that
the result file has its shape. It asserts no timings; speed is read from the
full suite's output, never tested.
"""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "run.py"


@pytest.mark.skipif(not SCRIPT.exists(), reason="benchmarks/ is not shipped here")
def test_quick_suite_runs_and_writes_results(tmp_path: Path, run_quick) -> None:
    out = tmp_path / "quick.json"
    done = run_quick(SCRIPT, out, 120)
    assert done.returncode == 0, done.stderr
    assert "| workload | contender |" in done.stdout
    payload = json.loads(out.read_text())
    rows = {(r["workload"], r["contender"]) for r in payload["results"]}
    for workload in ("predict, batch 1", "predict, batch 32", "train step, batch 32"):
        assert (workload, "numpy") in rows
        assert (workload, "nnspec interpreter") in rows
    assert ("predict, batch 1", "nnspec compiled") in rows
    assert ("train step, batch 32", "nnspec compiled") in rows
    for r in payload["results"]:
        assert r["median_s"] > 0 and math.isfinite(r["ratio"])
    assert set(payload["figures"]) >= {
        "gemm_gflops_float32",
        "interpreter_overhead_seconds_per_node",
        "peak_training_bytes",
    }
    machine = payload["machine"]
    assert {"numpy", "blas", "load_average", "usable_cores", "thread_variables"} <= set(machine)
    assert machine["run_seconds"] > 0
    assert any(b["internal_api"] for b in machine["blas"])
    for workload in ("busy core: predict, batch 32", "busy core: train step, batch 32"):
        for code in ("numpy", "nnspec interpreter", "nnspec compiled"):
            assert (workload, f"{code}, 1 BLAS thread") in rows
            assert (workload, f"{code}, default threads") in rows
    for layout in ("W as stored", "W pre-transposed"):  # every floor ran and was verified
        assert ("predict, batch 32", f"floor: products, {layout}") in rows
        assert ("predict, batch 32", f"floor: NumPy calls, {layout}") in rows
    assert ("train step, batch 32", "floor: hand-tuned NumPy step") in rows
    assert ("train step, batch 32", "floor: NumPy calls, W as stored") in rows
    assert ("train step, batch 32", "floor: products, W as stored") in rows
    if importlib.util.find_spec("torch") is not None:  # its products, checked against NumPy's
        assert ("train step, batch 32", "pytorch eager: its products alone") in rows
    sections = machine["sections"]
    assert set(sections) == {"quiet", "busy core"}
    for record in sections.values():
        assert (
            record["seconds"] > 0 and "other_cores" in record and "load_average_at_start" in record
        )
    assert sections["busy core"]["spinner_cores"] > 0
    assert all(len(r["ratio_range"]) == 2 for r in payload["thread_choice"])
    # one round decides nothing: every busy-core row is undecided, none is "yes"
    assert {r["within"] for r in payload["thread_choice"]} == {"undecided"}
    assert {r["code"] for r in payload["thread_choice"]} == {
        "numpy",
        "nnspec interpreter",
        "nnspec compiled",
    }


@pytest.mark.skipif(not SCRIPT.exists(), reason="benchmarks/ is not shipped here")
def test_the_report_fills_every_generated_section_of_the_page(tmp_path: Path) -> None:
    """docs/performance.md is regenerated from a result file by benchmarks/report.py."""
    page = tmp_path / "performance.md"
    page.write_text((ROOT / "docs" / "performance.md").read_text(encoding="utf-8"))
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "report.py"),
            str(ROOT / "benchmarks" / "results" / "latest.json"),
            "--write",
            str(page),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    text = page.read_text(encoding="utf-8")
    assert "| target (ratio to NumPy, same run) |" in text
    assert "load average" in text
    # the committed page is what the committed result file renders: nothing typed in
    assert text == (ROOT / "docs" / "performance.md").read_text(encoding="utf-8")
