"""How `nnspec.validate` scales with document size (a figure, not a timed test).

Generates documents of 1k, 10k and 100k nodes — a chain mixing dense layers,
elementwise activations and residual adds — times the whole pipeline (parse,
schema, check, lowering) on the JSON text, and prints a Markdown table of the
median time and the time per node. Linear growth shows as a flat last column.

    PYTHONPATH=src python benchmarks/validate_scaling.py [--sizes 1000 10000] [--repeat 5]
    PYTHONPATH=src python benchmarks/validate_scaling.py --profile 10000
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import statistics
import time

from nnspec import validate
from nnspec.spec.limits import Limits

WIDTH = 8
# One block of the chain; "{p}" is replaced by the block's prefix.
BLOCK = (
    {"id": "{p}d", "op": "dense", "units": WIDTH, "activation": "tanh"},
    {"id": "{p}r", "op": "relu"},
    {"id": "{p}s", "op": "add", "inputs": ["{p}r", "{p}d"]},
    {"op": "elu"},  # no id: exercises generated ids and implied inputs
)


def document(nodes: int) -> str:
    """A valid document with exactly `nodes` nodes, as JSON text."""
    chain = []
    for i in range(nodes):
        block, step = divmod(i, len(BLOCK))
        template = BLOCK[step]
        node = {
            k: v.replace("{p}", f"b{block}.") if isinstance(v, str) else v
            for k, v in template.items()
        }
        if "inputs" in template:
            node["inputs"] = [name.replace("{p}", f"b{block}.") for name in template["inputs"]]
        chain.append(node)
    doc = {
        "nnspec": "1",
        "name": f"chain-{nodes}",
        "inputs": {"x": {"shape": ["batch", WIDTH]}},
        "nodes": chain,
    }
    return json.dumps(doc, indent=1)


def median_seconds(text: str, repeat: int, limits: Limits) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        problems = validate(text, limits=limits)
        times.append(time.perf_counter() - start)
        assert not problems, problems[:3]
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--profile", type=int, metavar="NODES", help="cProfile one size instead")
    args = parser.parse_args()
    limits = Limits(max_nodes=10_000_000)
    validate(document(10), limits=limits)  # warm caches (schema, validators)
    if args.profile:
        text = document(args.profile)
        cProfile.runctx("validate(text, limits=limits)", globals(), locals(), "/tmp/validate.prof")
        pstats.Stats("/tmp/validate.prof").sort_stats("cumulative").print_stats(25)
        return
    print("| nodes | document | median time | time per node |")
    print("|------:|---------:|------------:|--------------:|")
    for size in args.sizes:
        text = document(size)
        seconds = median_seconds(text, args.repeat if size < 100_000 else 3, limits)
        print(
            f"| {size:,} | {len(text) / 1e6:.1f} MB | {seconds * 1e3:,.0f} ms "
            f"| {seconds / size * 1e6:.1f} µs |"
        )


if __name__ == "__main__":
    main()
