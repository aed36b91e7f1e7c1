"""Smoke run of the scale-out benchmark (``benchmarks/dask_scaling.py --quick``).

Tiny sizes, one round, a threaded local cluster: every contender runs and agrees
with the in-process Scorer (the script checks that), and the result file has its
shape. No timing is asserted.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "dask_scaling.py"

pytest.importorskip("distributed")


@pytest.mark.skipif(not SCRIPT.exists(), reason="benchmarks/ is not shipped here")
def test_quick_dask_benchmark_runs_and_writes_results(tmp_path: Path, run_quick) -> None:
    out = tmp_path / "dask.json"
    done = run_quick(SCRIPT, out, 180)
    assert done.returncode == 0, done.stderr
    assert "| dask, 2 worker(s) |" in done.stdout
    payload = json.loads(out.read_text())
    names = [r["contender"] for r in payload["throughput"]]
    assert names == [
        "Model.predict (in process)",
        "Scorer (in process)",
        "dask, 1 worker(s)",
        "dask, 2 worker(s)",
    ]
    assert all(r["rows_per_second"] > 0 for r in payload["throughput"])
    assert set(payload["overhead"]) == {
        "seconds_per_partition, default blocks",
        "seconds_per_partition, block_rows=None",
    }
    assert all(math.isfinite(v) for v in payload["overhead"].values())
