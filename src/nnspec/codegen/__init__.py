"""The code generator: a `Graph` becomes one standalone Python module that needs only NumPy.

`compile(graph)` returns the module text; `weights_npz(graph)` the bytes of the
weights file that ``compile(graph, weights_file=...)`` expects beside the module.
Pipeline: `emit.plan` (data) → `render.render` (Jinja text).
"""

from __future__ import annotations

import builtins
import hashlib
import io
import types
from collections.abc import Mapping

import numpy as np

from nnspec.codegen import emit, render
from nnspec.codegen.train import loss_node, train_plan
from nnspec.fileio import write_npz
from nnspec.ir import Graph
from nnspec.spec.limits import sample_elements
from nnspec.typecheck import ensure_typed

SELF_TEST_BATCH = 3  # the size given to every symbolic dim of the self-test input
SELF_TEST_ELEMENTS = 100_000  # the stored input and output stay small in the module


def compile(  # the public name the issue asks for: nnspec.compile
    graph: Graph,
    params: Mapping[str, np.ndarray] | None = None,
    *,
    weights_file: str = "",
    self_test: bool = True,
    train: bool = False,
) -> str:
    """The module text for `graph` with `params` (default: the graph's initial values).

    With `weights_file`, weights are read at import from that .npz beside the module
    (write it with `weights_npz`) instead of being embedded. With
    `train`, the module also gets the training loss, its gradients, the document's
    optimizer and `fit` (see docs/codegen.md); the graph needs a training loss.
    """
    values = _params(graph, params)
    loss = loss_node(graph) if train else None
    plan = emit.plan(graph, values, weights_file=weights_file, loss=loss)
    if weights_file:
        plan.weights_sha256 = hashlib.sha256(_npz(graph, values)).hexdigest()
    if train:
        plan.train = train_plan(graph, plan)
    if self_test:
        emit.add_self_test(plan, graph, values, self_test_inputs(graph))
    plan.options = compile_options(
        weights_file=bool(weights_file), self_test=self_test, train=train
    )
    return render.render(plan)


def compile_options(*, weights_file: bool, self_test: bool, train: bool) -> tuple[str, ...]:
    """The ``nnspec compile`` flags that give these settings, in a fixed order; the
    module records them in its header so ``--check`` can compare like with like."""
    flags = (
        ("--weights-file", weights_file),
        ("--no-self-test", not self_test),
        ("--train", train),
    )
    return tuple(flag for flag, on in flags if on)


def recorded_options(source: str) -> tuple[str, ...] | None:
    """The flags a module's header says it was compiled with (None: no such line)."""
    for line in source.splitlines()[:8]:
        if line.startswith(OPTIONS_HEADER):
            return tuple(f for f in line[len(OPTIONS_HEADER) :].split() if f != "(none)")
    return None


OPTIONS_HEADER = "# Compile options:"


def weights_npz(graph: Graph, params: Mapping[str, np.ndarray] | None = None) -> bytes:
    """The weights file for `compile(..., weights_file=...)`: a deterministic .npz
    (`nnspec.fileio.write_npz`) of every param, by its document name in graph order.

    That is the layout ``nnspec train`` writes beside a large trained document (and a
    ``--train`` module's ``save_weights``), so compiling a trained document gives a
    module whose weights file has the very bytes of the document's own.
    """
    return _npz(graph, _params(graph, params))


def _npz(graph: Graph, values: Mapping[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    write_npz(buffer, {p.name: np.ascontiguousarray(values[p.name]) for p in graph.params})
    return buffer.getvalue()


def load_source(source: str, name: str = "nnspec_compiled") -> types.ModuleType:
    """Execute generated module text as a fresh module (not registered in sys.modules)."""
    module = types.ModuleType(name)
    module.__file__ = f"<{name}>"
    exec(builtins.compile(source, module.__file__, "exec"), module.__dict__)
    return module


def self_test_inputs(graph: Graph) -> dict[str, np.ndarray]:
    """A small fixed input: symbolic and unknown dims become SELF_TEST_BATCH (1 when that
    would exceed `SELF_TEST_ELEMENTS`, e.g. with many symbols), values in [-1, 1)."""
    rng = np.random.default_rng(0)
    arrays = {}
    shapes = [inp.type.shape for inp in graph.inputs]
    fits = sample_elements(shapes, SELF_TEST_BATCH) <= SELF_TEST_ELEMENTS
    batch = SELF_TEST_BATCH if fits else 1
    for inp in graph.inputs:
        shape = tuple(d if isinstance(d, int) else batch for d in inp.type.shape)
        if inp.type.is_float:
            arrays[inp.name] = rng.uniform(-1.0, 1.0, shape).astype(inp.type.dtype)
        else:
            arrays[inp.name] = rng.integers(0, 2, shape).astype(inp.type.dtype)
    return arrays


def _params(graph: Graph, params: Mapping[str, np.ndarray] | None) -> dict[str, np.ndarray]:
    ensure_typed(graph)  # a hand-built graph gets a clear error, not a KeyError
    if params is not None:
        return {p.name: np.asarray(params[p.name]) for p in graph.params}
    from nnspec.interpreter.init import initial_values

    return initial_values(graph)


__all__ = ["compile", "load_source", "self_test_inputs", "weights_npz"]
