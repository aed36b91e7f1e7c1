"""Rows per second of `nnspec.dask.predict` on 1 and 2 workers against in-process predict.

    PYTHONPATH=src python benchmarks/dask_scaling.py [--rows N] [--repeat R] [--out FILE]

Workload: the benchmark MLP (784-256-128-10, float32, `mlp.py`) on `--rows` rows.
Contenders, each the median of `--repeat` timed runs after one untimed warm-up:

- ``Model.predict``: one in-process call over all rows (what `nnspec run` does);
- ``Scorer``: in process, the fixed 4096-row blocks every partition runs;
- ``dask, N worker(s)``: `nnspec.dask.predict(model, x)` computed on a
  `LocalCluster` of N single-threaded worker processes, the input generated and
  persisted on the workers first (so the time is scoring, scheduling and gathering
  the outputs, not making or shipping the input), in chunks of `--chunk` rows.

All four are timed round-robin (both clusters run at once), like `harness.measure`.

Per-partition overhead: a 4-8-1 network on 16,384 rows, scored on 2 workers as
one chunk and as 256 chunks of 64 rows; the difference divided by 255. Reported for
the default row blocks (each partition padded to a 4096-row call) and for
``block_rows=None``. Prints Markdown tables and writes `results/dask.json`.
``--quick`` (tiny sizes, threads instead of processes) is the smoke test's mode.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import mlp
from run import machine

import nnspec
from nnspec.dask import Scorer, predict
from nnspec.interpreter import Model

RESULTS = Path(__file__).resolve().parent / "results"
SMALL = {
    "nnspec": "1",
    "inputs": {"x": {"shape": ["batch", 4]}},
    "nodes": [
        {"op": "dense", "units": 8, "activation": "tanh"},
        {"op": "dense", "units": 1, "activation": "sigmoid"},
    ],
}


def interleaved(calls: dict[str, Callable[[], Any]], repeat: int) -> dict[str, float]:
    """Median seconds per contender, timed round-robin so a busy spell hits all alike."""
    for call in calls.values():
        call()  # warm-up: imports, the model reaching the workers, BLAS threads
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(repeat):
        for name, call in calls.items():
            time.sleep(0.05)
            start = time.perf_counter()
            call()
            samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in samples.items()}


def cluster(workers: int, processes: bool) -> Any:
    from distributed import Client, LocalCluster

    local = LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=processes,
        dashboard_address=":0",
        silence_logs=50,
    )
    return local, Client(local, set_as_default=False)


def random_rows(rows: int, width: int, chunk: int) -> Any:
    """Float32 rows generated where they are computed (the same values on any cluster)."""
    import dask.array as da

    return (
        da.random.default_rng(0)
        .standard_normal((rows, width), chunks=(chunk, -1))
        .astype(np.float32)
    )


def measure(args: argparse.Namespace) -> tuple[list[dict[str, Any]], dict[str, float]]:
    sizes = mlp.SIZES if not args.quick else (16, 8, 8, 4)
    graph, params = mlp.graph_and_params(train=False, sizes=sizes)
    model = Model(graph, params)
    scorer = Scorer(model)
    small = Model(nnspec.load(SMALL), seed=0)
    total, many = (2048, 32) if args.quick else (16_384, 256)
    tiny = np.random.default_rng(1).standard_normal((total, 4)).astype(np.float32)
    clusters = {workers: cluster(workers, not args.quick) for workers in (1, 2)}
    try:
        x = clusters[1][1].compute(random_rows(args.rows, sizes[0], args.chunk)).result()
        calls: dict[str, Callable[[], Any]] = {
            "Model.predict (in process)": lambda: model.predict(x),
            "Scorer (in process)": lambda: scorer({"x": x}),
        }
        expected = scorer({"x": x})["out"]
        kept = []  # persisted inputs stay referenced, or their futures are released
        for workers, (_, client) in clusters.items():
            data = client.persist(random_rows(args.rows, sizes[0], args.chunk))
            kept.append(data)
            lazy = predict(scorer, data)
            got = client.compute(lazy).result()
            np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)
            calls[f"dask, {workers} worker(s)"] = lambda lazy=lazy, client=client: client.compute(
                lazy
            ).result()
        seconds = interleaved(calls, args.repeat)
        client = clusters[2][1]
        whole = client.persist(da_from(tiny, total))
        parts = client.persist(da_from(tiny, total // many))
        kept += [whole, parts]
        split_calls: dict[str, Callable[[], Any]] = {}
        for label, block_rows in (("default blocks", 4096), ("block_rows=None", None)):
            part_scorer = Scorer(small, block_rows=block_rows)
            for name, data in (("1", whole), (str(many), parts)):
                lazy = predict(part_scorer, data)
                split_calls[f"{label}|{name}"] = lambda lazy=lazy: client.compute(lazy).result()
        split = interleaved(split_calls, args.repeat)
    finally:
        for local, client in clusters.values():
            client.close()
            local.close()
    rows = [
        {"contender": name, "seconds": t, "rows_per_second": args.rows / t}
        for name, t in seconds.items()
    ]
    figures = {
        f"seconds_per_partition, {label}": (split[f"{label}|{many}"] - split[f"{label}|1"])
        / (many - 1)
        for label in ("default blocks", "block_rows=None")
    }
    return rows, figures


def da_from(x: np.ndarray, chunk: int) -> Any:
    import dask.array as da

    return da.from_array(x, chunks=(chunk, -1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=65_536)
    parser.add_argument("--chunk", type=int, default=16_384)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, threads (smoke test)")
    parser.add_argument("--out", type=Path, help="JSON file (default: results/dask.json)")
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.chunk, args.repeat = 4096, 1024, 1
    load_before = os.getloadavg()
    rows, figures = measure(args)
    base = rows[0]["rows_per_second"]
    print(f"| contender ({args.rows:,} rows) | median | rows/s | vs Model.predict |")
    print("|---|---:|---:|---:|")
    for r in rows:
        ratio = r["rows_per_second"] / base
        print(
            f"| {r['contender']} | {r['seconds'] * 1e3:.1f} ms | "
            f"{r['rows_per_second']:,.0f} | {ratio:.2f}x |"
        )
    print("\n| figure | value |\n|---|---:|")
    for key, value in figures.items():
        print(f"| {key} | {value * 1e3:.2f} ms |")
    out = args.out or RESULTS / ("dask.quick.local.json" if args.quick else "dask.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "machine": {**machine(), "load_average": [load_before[0], os.getloadavg()[0]]},
        "rows": args.rows,
        "chunk": args.chunk,
        "throughput": rows,
    }
    out.write_text(json.dumps({**payload, "overhead": figures}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
