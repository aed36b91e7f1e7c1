"""nnspec's benchmark suite: ``python benchmarks/run.py [--quick] [--out FILE]``.

Prints Markdown tables and writes a JSON result file. Every figure that compares
is a ratio to hand-written NumPy measured in the same run (see `harness`).
``--quick`` shrinks sizes and repeats so the test suite can smoke-run it.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import timeit
import tracemalloc
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import itertools

import baselines
import floors
import harness
import mlp
import others
import quiet
import report

import nnspec
from nnspec import aligned
from nnspec.buffers import buffer_plan
from nnspec.codegen import load_source
from nnspec.interpreter import Model, threads
from nnspec.interpreter.inputs import prepare
from nnspec.interpreter.optimizers import make_optimizer
from nnspec.interpreter.train import TrainStep
from nnspec.ops import REGISTRY

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass(frozen=True)
class Rounds:
    """How a group of rows is timed: interleaved rounds, and the least seconds of
    back-to-back calls per contender and round (`harness.measure`)."""

    rounds: int
    min_time: float


FULL = {
    "predict": Rounds(15, 0.1),
    "train": Rounds(21, 0.12),
    "busy predict": Rounds(9, 0.12),
    "busy train": Rounds(11, 0.12),
}
"""The full run's rounds. A target is met or missed only when the sign-test interval
of the median per-round ratio lies on one side of it (`paired`): with n rounds that
interval runs from the k-th smallest to the k-th largest ratio, k = 1 up to 8
rounds, 4 at 15, 6 at 21, so the rows that decide targets (the quiet ones, training
above all, where nnspec and PyTorch are a few per cent apart) get the most rounds,
in shorter samples: more paired observations for the same machine time. The whole
run stays at about 5 minutes on 2 cores."""

QUICK = dict.fromkeys(FULL, Rounds(1, 0.001))
"""``--quick``: one round of tiny samples, to smoke-run the suite."""


def inference(sizes: tuple[int, ...], batches: list[int], timing: Rounds) -> list:
    graph, params = mlp.graph_and_params(train=False, sizes=sizes)
    model = Model(graph, params)
    module = load_source(nnspec.compile(graph, params, self_test=False))
    placed = module_weights(module, params)
    results = []
    for batch in batches:
        x, _ = mlp.data(batch, sizes)
        contenders = [
            harness.Contender("numpy", lambda x=x: baselines.mlp_predict(x, params)),
            harness.Contender("nnspec interpreter", lambda x=x: model.predict(x)),
            harness.Contender("nnspec compiled", lambda x=x: module.predict(x)),
        ]
        if sizes == mlp.SIZES:
            for name, build in (
                ("pytorch eager", others.torch_predict),
                ("onnxruntime", others.onnxruntime_predict),
                ("jax.jit", others.jax_predict),
            ):
                predict = build(params)
                if predict is not None:
                    contenders.append(harness.Contender(name, lambda x=x, f=predict: f(x)))
        contenders += _floors(floors.CALLS, floors.FewestCalls, placed, x)
        harness.verify(contenders, rtol=1e-4, atol=1e-6)
        products = _floors(floors.PRODUCTS, floors.Products, placed, x)
        reference = harness.Contender(
            "numpy products", lambda x=x: baselines.mlp_predict_products(x, params)
        )
        harness.verify([reference, *products], rtol=1e-4, atol=1e-5)
        results += harness.measure(
            f"predict, batch {batch}",
            [*contenders, *products],
            rounds=timing.rounds,
            min_time=timing.min_time,
        )
    return results


def module_weights(module: Any, params: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The compiled module's own weight arrays by param name (its constants: ``h1.W``
    is ``H1_W``), checked equal to `params`. The floors read these: where a weight
    array lies in memory moved a batch-1 predict by up to 15 % between runs, so a floor
    on other arrays than the module's could run slower than the code it bounds."""
    found = {name: getattr(module, name.replace(".", "_").upper()) for name in params}
    for name, value in found.items():
        if not np.array_equal(value, params[name]):
            raise AssertionError(f"the compiled module's {name} differs from the params")
    return found


def _floors(
    kind: str, make: Callable[..., Callable[[np.ndarray], np.ndarray]], params: Any, x: np.ndarray
) -> list[harness.Contender]:
    """One contender per layout measured at `x`'s batch size: `make`'s floor on `x`."""
    batch = x.shape[0]
    return [
        harness.Contender(
            f"{kind}, {layout.name}", functools.partial(make(params, layout, batch), x)
        )
        for layout in floors.layouts(batch)
    ]


Stepper = tuple[Callable[[np.ndarray, np.ndarray], float], Callable[[], dict[str, np.ndarray]]]
"""(one training step on (x, labels) returning the loss, the current weights by name)."""


def numpy_stepper(graph: Any, params: dict[str, np.ndarray], lr: float) -> Stepper:
    p = {k: aligned.copy(v) for k, v in params.items()}
    return (lambda x, labels: baselines.mlp_train_step(x, labels, p, lr)), lambda: p


def hand_tuned_stepper(graph: Any, params: dict[str, np.ndarray], lr: float) -> Stepper:
    step = floors.HandTunedStep(params, lr)
    return step, step.weights


def calls_stepper(graph: Any, params: dict[str, np.ndarray], lr: float) -> Stepper:
    """The hand-tuned step with the document's update, ``w - lr·g`` (no folding)."""
    step = floors.HandTunedStep(params, lr, fold=False)
    return step, step.weights


def interpreter_stepper(
    graph: Any, params: dict[str, np.ndarray], lr: float, threads: int | None = None
) -> Stepper:
    """The step `nnspec train` runs per mini-batch: its plan, its optimizer, its update."""
    model = Model(graph, params, threads=threads)
    step = TrainStep(model, make_optimizer(graph.training.optimizer))
    feeds = step.plan.feeds

    def call(x: np.ndarray, labels: np.ndarray) -> float:
        return float(step({feeds[0].name: x, feeds[1].name: labels})[0])

    return call, lambda: dict(model.params)


def compiled_stepper(
    graph: Any, params: dict[str, np.ndarray], lr: float, threads: int | None = None
) -> Stepper:
    """The module of ``nnspec compile --train``: its `train_step` (forward, loss,
    backward, the document's SGD update of its own weights) on `threads` BLAS threads."""
    module = load_source(nnspec.compile(graph, params, self_test=False, train=True))
    state = module.init_state()
    x_name, label_name = module.TRAIN_INPUTS

    def call(x: np.ndarray, labels: np.ndarray) -> float:
        return module.train_step({x_name: x, label_name: labels}, state, threads=threads)

    return call, lambda: {k: v.copy() for k, v in module.PARAMS.items()}


def external_stepper(build: Callable) -> Callable[..., Stepper | None]:
    def make(graph: Any, params: dict[str, np.ndarray], lr: float) -> Stepper | None:
        step = build({k: aligned.copy(v) for k, v in params.items()}, lr)
        return None if step is None else (step, step.weights)

    return make


def training(sizes: tuple[int, ...], batches: list[int], timing: Rounds) -> list:
    """One SGD step (forward, softmax cross-entropy from logits, backward, update) per call.

    Before timing, every contender takes one step from the same weights on the same
    batch; its loss, its updated weights and the gradient those imply must match
    NumPy's. The timed steps then keep training (the weights drift; the work does not).
    """
    graph, params = mlp.graph_and_params(train=True, sizes=sizes)
    lr = float(graph.training.optimizer["learning_rate"])
    makers: list[tuple[str, Callable[..., Stepper | None]]] = [
        ("numpy", numpy_stepper),
        ("nnspec interpreter", interpreter_stepper),
        ("nnspec compiled", compiled_stepper),
        (floors.HAND_TUNED, hand_tuned_stepper),
        (f"{floors.CALLS}, W as stored", calls_stepper),
    ]
    if sizes == mlp.SIZES:
        makers += [
            ("pytorch eager", external_stepper(others.torch_train_step)),
            ("jax.jit", external_stepper(others.jax_train_step)),
        ]
    results = []
    for batch in batches:
        x, labels = checked_batch(graph, params, *mlp.data(batch, sizes))
        contenders, updated, implied = [], [], []
        for name, make in makers:
            stepper = make(graph, params, lr)
            if stepper is None:
                continue
            step, weights = stepper
            loss = step(x, labels)
            after = weights()
            state = np.concatenate([[loss], *(after[k].ravel() for k in params)])
            grads = np.concatenate(
                [(params[k].astype(np.float64) - after[k]).ravel() / lr for k in params]
            )
            updated.append(harness.Contender(name, lambda s=state: s))
            implied.append(harness.Contender(name, lambda g=grads: g))
            timed, _ = make(graph, params, lr)
            contenders.append(harness.Contender(name, lambda f=timed, x=x, y=labels: f(x, y)))
        # float32 weights change by lr·grad, so the implied gradient carries the
        # update's rounding (|w|·eps/lr): a looser absolute tolerance for it.
        harness.verify(updated, rtol=1e-5, atol=1e-6)
        harness.verify(implied, rtol=1e-3, atol=2e-4)
        renderings: dict[str, Any] = {
            f"{floors.PRODUCTS}, W as stored": floors.TrainProducts(params, batch)
        }
        theirs = others.torch_train_products(params, batch)  # quick runs too: checked there
        if theirs is not None:
            renderings[others.TORCH_PRODUCTS] = theirs
        timed_products = [
            harness.Contender(
                name,
                lambda f=f, x=x, y=labels: f(x, y),
                check=lambda f=f, x=x, y=labels: f.gradients(x, y),
            )
            for name, f in renderings.items()
        ]
        # the same products in each, summed in another order: float32 sums of up to 1024
        # terms of magnitude up to ~2000 here, so tolerances above the predictions'
        harness.verify(timed_products, rtol=1e-3, atol=1e-3)
        contenders += timed_products
        results += harness.measure(
            f"train step, batch {batch}",
            contenders,
            rounds=timing.rounds,
            min_time=timing.min_time,
        )
    return results


def checked_batch(
    graph: Any, params: dict[str, np.ndarray], x: np.ndarray, labels: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(x, labels) as `train` hands them to its step: checked once by `inputs.prepare`."""
    feeds = Model(graph, params).gradient_plan().feeds
    checked = prepare(feeds, {"x": x, "label": labels}, {"x", "label"})
    return checked["x"], checked["label"]


def busy_core_rows(
    sizes: tuple[int, ...],
    predict_batches: list[int],
    train_batches: list[int],
    timing: dict[str, Rounds],
    record: dict[str, Any],
) -> list:
    """The same code on 1 BLAS thread, on one per core and by default, one other core busy.

    A background process spins on one core for the whole measurement (started and
    stopped here, with its own time limit). "default threads" is what the code does
    unasked: NumPy's BLAS default (one thread per core) for NumPy, nnspec's "auto"
    (``threads=None``) for the interpreter and the compiled module, which are also
    timed with ``threads=1`` and ``threads=cores``. Predictions are checked against
    NumPy's first; the training steps are the code verified in the quiet rows.
    `record` gets the spinner's cores and, before each workload, the cores other
    processes used as nnspec's auto rule last measured them (``busy_elsewhere``).
    """
    cores = threads.usable_cores()
    graph, params = mlp.graph_and_params(train=False, sizes=sizes)
    module = load_source(nnspec.compile(graph, params, self_test=False))
    models = {n: Model(graph, params, threads=n) for n in (None, 1, cores)}
    train_graph, train_params = mlp.graph_and_params(train=True, sizes=sizes)
    lr = float(train_graph.training.optimizer["learning_rate"])
    results = []
    # the spinner ends itself after this, whatever happens
    seconds = 1800 if timing["busy train"].rounds > 1 else 60
    seen = record.setdefault("busy_elsewhere_before_each_workload", [])
    with harness.busy_core(seconds, record):
        for batch in predict_batches:
            seen.append(threads.busy_elsewhere())
            x, _ = mlp.data(batch, sizes)
            contenders = [
                *_thread_pair("numpy", lambda x=x: baselines.mlp_predict(x, params)),
                *_thread_choices(INTERPRETER, cores, lambda n, x=x: models[n].predict(x)),
                *_thread_choices(COMPILED, cores, lambda n, x=x: module.predict(x, threads=n)),
            ]
            harness.verify(contenders, rtol=1e-4, atol=1e-6)
            results += harness.measure(
                f"busy core: predict, batch {batch}",
                contenders,
                rounds=timing["busy predict"].rounds,
                min_time=timing["busy predict"].min_time,
            )
        for batch in train_batches:
            seen.append(threads.busy_elsewhere())
            x, labels = mlp.data(batch, sizes)
            x, labels = checked_batch(train_graph, train_params, x, labels)
            steps: dict[Any, Callable[[np.ndarray, np.ndarray], float]] = {
                "numpy": numpy_stepper(train_graph, train_params, lr)[0]
            }
            for n in (None, 1, cores):
                steps[INTERPRETER, n] = interpreter_stepper(train_graph, train_params, lr, n)[0]
                steps[COMPILED, n] = compiled_stepper(train_graph, train_params, lr, n)[0]
            contenders = [
                *_thread_pair("numpy", lambda f=steps["numpy"], x=x, y=labels: f(x, y)),
                *(
                    contender
                    for code in (INTERPRETER, COMPILED)
                    for contender in _thread_choices(
                        code, cores, lambda n, c=code, s=steps, x=x, y=labels: s[c, n](x, y)
                    )
                ),
            ]
            results += harness.measure(
                f"busy core: train step, batch {batch}",
                contenders,
                rounds=timing["busy train"].rounds,
                min_time=timing["busy train"].min_time,
            )
    return results


INTERPRETER = "nnspec interpreter"
COMPILED = "nnspec compiled"


def _thread_choices(
    code: str, cores: int, call: Callable[[int | None], Any]
) -> list[harness.Contender]:
    """nnspec's `call(threads)` with 1 BLAS thread, one per core and its default (auto)."""
    return [
        harness.Contender(f"{code}, 1 BLAS thread", lambda: call(1)),
        harness.Contender(f"{code}, {cores} BLAS threads", lambda: call(cores)),
        harness.Contender(f"{code}, default threads", lambda: call(None)),
    ]


def _thread_pair(name: str, call: Callable[[], Any]) -> list[harness.Contender]:
    """`call` timed with its default BLAS threads and with one (set from outside)."""
    return [
        harness.Contender(f"{name}, default threads", call),
        harness.Contender(f"{name}, 1 BLAS thread", call, threads=1),
    ]


def gemm_ceiling(n: int, min_time: float) -> float:
    """float32 GEMM GFLOP/s that NumPy reaches on this machine."""
    a = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
    seconds = harness.time_calls(lambda: a @ a, min_time)
    return 2 * n**3 / seconds / 1e9


def mlp_flops(sizes: tuple[int, ...], batch: int) -> float:
    return 2.0 * batch * sum(a * b for a, b in itertools.pairwise(sizes))


def per_node_overhead(nodes: int, min_time: float) -> float:
    """Seconds the interpreter adds per node beyond the call of the node's own function.

    Chains of `nodes` and of 2 x `nodes` tanh nodes on a [1, 8] float32 input: the
    difference of their ``model.predict`` times over `nodes` is the cost of one more
    node (the entry checks and the result dict are the same in both, so they cancel),
    and from it the time of one call of what the interpreter runs for such a node
    (`chain_node_call`; `timeit`, whose loop adds a few ns) is taken away. What remains
    is the interpreter's bookkeeping per node: reading and writing its environment slots.
    """
    x = np.linspace(-1, 1, 8, dtype=np.float32).reshape(1, 8)
    times = []
    for count in (nodes, 2 * nodes):
        model = Model(nnspec.load(tanh_chain(count)))
        times.append(harness.time_calls(lambda m=model: m.predict(x), min_time))
    call = chain_node_call(model.graph)
    value = np.tanh(x)
    number = max(1, int(min_time / 1e-6))
    own = timeit.Timer("f(v, out=v)", globals={"f": call, "v": value}).timeit(number) / number
    return (times[1] - times[0]) / nodes - own


def tanh_chain(count: int) -> dict[str, Any]:
    """A document of `count` tanh nodes in a row on a [batch, 8] input."""
    return {
        "nnspec": "1",
        "inputs": {"x": {"shape": ["batch", 8]}},
        "nodes": [{"op": "tanh"} for _ in range(count)],
    }


def chain_node_call(graph: Any) -> Callable[..., Any]:
    """What the interpreter calls, as ``f(v, out=v)``, for every node of a tanh chain
    but the first: the op's in-place form (`OpDef.inplace`) over its input, which dies
    there. The buffer plan says so (`nnspec.buffers.buffer_plan`, which the interpreter
    follows); a chain it does not plan that way would make `per_node_overhead` take
    away the wrong call, so that is an error here, not a silent figure
    (tests/benchmarks/test_overhead.py also checks it against the interpreter's plan)."""
    nodes = graph.nodes
    into = buffer_plan(nodes, keep=graph.outputs).into
    middle = nodes[1:]
    if not middle or any(into.get(n.id) != n.inputs[0] for n in middle):
        raise AssertionError("the buffer plan no longer writes a tanh chain in place")
    call = REGISTRY["tanh"].inplace
    assert call is not None  # tanh is a ufunc
    return call


def compile_time(nodes: int) -> float:
    layers = [{"op": "dense", "units": 8, "activation": "tanh"} for _ in range(nodes // 3)]
    doc = {"nnspec": "1", "inputs": {"x": {"shape": ["batch", 8]}}, "nodes": layers}
    graph = nnspec.load(doc)
    start = time.perf_counter()
    nnspec.compile(graph, self_test=False)
    return time.perf_counter() - start


def import_overhead(sizes: tuple[int, ...], repeats: int) -> float:
    """Seconds a generated module's import adds to ``import numpy`` in a fresh process."""
    graph, params = mlp.graph_and_params(train=False, sizes=sizes)
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "mlp_module.py").write_text(nnspec.compile(graph, params, self_test=False))
        code = (
            "import time, numpy; t = time.perf_counter(); import mlp_module; "
            "print(time.perf_counter() - t)"
        )
        samples = []
        for _ in range(repeats):
            out = subprocess.run(
                [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {folder!r}); {code}"],
                capture_output=True,
                text=True,
                check=True,
            )
            samples.append(float(out.stdout))
    return float(np.median(samples))


def peak_memory_of_training(sizes: tuple[int, ...], batch: int, steps: int) -> int:
    """Peak bytes NumPy allocates (tracemalloc) during `steps` warm interpreter training
    steps (forward, backward, update), after a first step has made its buffers."""
    graph, params = mlp.graph_and_params(train=True, sizes=sizes)
    step = TrainStep(Model(graph, params), make_optimizer(graph.training.optimizer))
    x, labels = mlp.data(batch, sizes)
    step({"x": x, "label": labels})
    tracemalloc.start()
    try:
        for _ in range(steps):
            step({"x": x, "label": labels})
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def warm_call_bytes(sizes: tuple[int, ...], batch: int) -> dict[str, int]:
    """Peak bytes NumPy allocates (tracemalloc) in one predict call after a first one:
    what each contender allocates per call once its buffers, if any, exist."""
    graph, params = mlp.graph_and_params(train=False, sizes=sizes)
    model = Model(graph, params, threads=1)
    module = load_source(nnspec.compile(graph, params, self_test=False))
    x, _ = mlp.data(batch, sizes)
    calls = {
        "numpy": lambda: baselines.mlp_predict(x, params),
        "interpreter": lambda: model.predict(x),
        "compiled": lambda: module.predict(x, threads=1),
    }
    peaks = {}
    for name, call in calls.items():
        call()
        tracemalloc.start()
        try:
            call()
            peaks[f"warm_predict_bytes_{name}_batch_{batch}"] = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    return peaks


THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
BLAS_KEYS = (
    "user_api",
    "internal_api",
    "version",
    "num_threads",
    "threading_layer",
    "architecture",
)


def machine() -> dict[str, Any]:
    """What ran the benchmark: versions, cores, BLAS kernels and their thread counts, load."""
    from threadpoolctl import threadpool_info

    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "machine": platform.machine(),
        "processor": cpu_model(),
        "cpus": os.cpu_count(),
        "usable_cores": threads.usable_cores(),
        "blas": [{k: p.get(k) for k in BLAS_KEYS} for p in threadpool_info()],
        "thread_variables": {k: os.environ.get(k) for k in THREAD_VARIABLES},
        "nnspec_auto_threads_now": threads.auto_threads(),
        "load_average": quiet.load_average(),
        "commit": commit(),
    }


def commit() -> str | None:
    """The measured source: git's HEAD, with "+changes" when the tree differs from it."""
    root = Path(__file__).resolve().parents[1]

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, check=True
        )
        return done.stdout.strip()

    try:
        head = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+changes" if dirty else "")


def cpu_model() -> str:
    """The CPU's model name (Linux: /proc/cpuinfo), else what `platform` knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one round (smoke test)")
    parser.add_argument(
        "--out", type=Path, help="JSON result file (default: benchmarks/results/latest.json)"
    )
    parser.add_argument(
        "--wait",
        type=float,
        default=None,
        metavar="SECONDS",
        help="wait at most this long for the load average to fall below "
        f"{quiet.LOAD_LIMIT} before starting (default: 180, --quick: 0)",
    )
    args = parser.parse_args(argv)
    started = time.monotonic()
    waited = quiet.wait_for_quiet(args.wait if args.wait is not None else 0 if args.quick else 180)
    load_before = quiet.load_average()
    if args.quick:
        sizes, batches, rounds, min_time = (16, 8, 8, 4), [1, 32], 1, 0.001
    else:
        sizes, batches, rounds, min_time = mlp.SIZES, [1, 64, 4096], 7, 0.2
    timing = QUICK if args.quick else FULL
    sections: dict[str, dict[str, Any]] = {"quiet": {}, "busy core": {}}
    train_batches = [32] if args.quick else [128, 1024]
    with quiet.section(sections["quiet"]):
        results = inference(sizes, batches, timing["predict"])
        results += training(sizes, train_batches, timing["train"])
    with quiet.section(sections["busy core"]) as record:
        results += busy_core_rows(
            sizes,
            batches[-2:] if args.quick else batches,
            train_batches,
            timing,
            record,
        )
    print(harness.markdown(results))
    choice = report.thread_choice([asdict(r) for r in results])
    print()
    print(report.threads({"machine": {}, "results": [asdict(r) for r in results]}))
    ceiling = gemm_ceiling(64 if args.quick else 2048, min_time)
    big = next(
        r
        for r in results
        if r.workload == f"predict, batch {batches[-1]}" and r.contender == "numpy"
    )
    achieved = mlp_flops(sizes, batches[-1]) / big.median_s / 1e9
    extras = {
        "gemm_gflops_float32": ceiling,
        "mlp_numpy_gflops_at_largest_batch": achieved,
        "interpreter_overhead_seconds_per_node": float(
            np.median(
                [per_node_overhead(50 if args.quick else 1000, min_time) for _ in range(rounds)]
            )
        ),
        "compile_seconds_1000_nodes": compile_time(30 if args.quick else 1000),
        "import_overhead_seconds": import_overhead(sizes, 1 if args.quick else 5),
        "peak_training_bytes": peak_memory_of_training(sizes, 32 if args.quick else 128, 2),
        **warm_call_bytes(sizes, batches[-1]),
    }
    print()
    print("| figure | value |\n|---|---:|")
    for key, value in extras.items():
        print(f"| {key} | {value:.4g} |")
    out = args.out or RESULTS / ("quick.local.json" if args.quick else "latest.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    info = machine()
    info["load_average_at_start"] = load_before
    info["waited_for_quiet_s"] = waited
    info["sections"] = sections
    info["run_seconds"] = round(time.monotonic() - started, 1)  # the wait included
    payload = {
        "machine": info,
        "results": [asdict(r) for r in results],
        "figures": extras,
        "thread_choice": choice,
    }
    out.write_text(json.dumps(payload, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
