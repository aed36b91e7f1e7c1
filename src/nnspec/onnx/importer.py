"""ONNX model → nnspec document: the import stage, `from_onnx`.

Pipeline: `reader.read_model` (bytes, confined external data) → select the
outputs and the nodes they need → convert node by node (`convert.CONVERTERS`,
collecting every problem with the node's name, op type, domain and opset) →
`patterns` (silu, BatchNormalization folding, dense layers) → a document dict.
The document then goes through the same checks as a written one.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from nnspec.errors import Problem, SpecError, did_you_mean
from nnspec.interpreter.save import INLINE_LIMIT, with_params
from nnspec.ir import Dim, TensorType
from nnspec.onnx import patterns
from nnspec.onnx.context import Context, Dyn, ImportFailure, Value, sanitize
from nnspec.onnx.convert import CONVERTERS, OnnxNode
from nnspec.onnx.reader import ModelSource, read_model
from nnspec.spec.limits import DEFAULT_LIMITS, Limits

MIN_OPSET = 7  # opsets older than this changed semantics nnspec does not model
_DTYPES = {1: "float32", 11: "float64"}  # ONNX TensorProto elem types nnspec reads
_GENERATED = re.compile(r"_output_\d+$")  # TorchScript output names; the node name reads better


class Imported(NamedTuple):
    """An imported model: the `document` (every param's exact value inline) and the
    same values as arrays (`weights`), e.g. for a weights file."""

    document: dict[str, Any]
    weights: dict[str, np.ndarray]

    def split(
        self, weights_name: str, inline_limit: int = INLINE_LIMIT
    ) -> tuple[dict[str, Any], dict[str, np.ndarray] | None]:
        """The document to write, and the arrays for `weights_name` when the weights are
        too many to write inline (`nnspec.interpreter.save.with_params`' size rule)."""
        skeleton = dict(self.document)
        skeleton["params"] = {
            name: {k: v for k, v in entry.items() if k != "value"}
            for name, entry in self.document.get("params", {}).items()
        }
        return with_params(skeleton, self.weights, weights_name, inline_limit)


class _Missing(NamedTuple):
    """An ONNX value nnspec does not compute (e.g. Dropout's mask): an error if used."""

    what: str


def from_onnx(
    source: ModelSource,
    *,
    outputs: Sequence[str] | None = None,
    name: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> Imported:
    """Import an ONNX model (a path or the file's bytes) as an nnspec document.

    `outputs` keeps only those graph outputs (and the nodes they need), e.g. the
    probabilities of a classifier without its label output. Raises `SpecError` with
    every problem found (codes NN7xx, NN601).
    """
    model, _ = read_model(source, limits)
    file = None if isinstance(source, bytes) else str(source)
    try:
        return _import(model, outputs, name, limits)
    except SpecError as exc:
        raise SpecError(p.located(file=file) for p in exc.problems) from None


def default_opset(model: Any) -> int | None:
    for entry in model.opset_import:
        if entry.domain in ("", "ai.onnx"):
            return int(entry.version)
    return None


def _import(
    model: Any, outputs: Sequence[str] | None, name: str | None, limits: Limits
) -> Imported:
    import onnx.defs

    graph = model.graph
    opset = default_opset(model)
    latest = onnx.defs.onnx_opset_version()
    if opset is None or not MIN_OPSET <= opset <= latest:
        raise SpecError(
            [
                Problem(
                    "NN703",
                    f"the model imports the default ONNX domain at opset {opset}; nnspec reads "
                    f"opsets {MIN_OPSET} to {latest}",
                    "/opset_import",
                )
            ]
        )
    if len(graph.node) > limits.max_nodes:
        raise SpecError(
            [
                Problem(
                    "NN601",
                    f"the model has {len(graph.node)} nodes, more than the limit of "
                    f"{limits.max_nodes} (max_nodes)",
                    "/graph/node",
                )
            ]
        )
    wanted = _select_outputs(graph, outputs)
    kept = _needed_nodes(graph, wanted)
    initializers = {t.name: (i, t) for i, t in enumerate(graph.initializer)}
    problems: list[Problem] = []
    dtype, feeds = _graph_inputs(graph, initializers, problems)
    cx = Context(dtype=dtype, opset=opset, max_elements=limits.max_param_elements)
    env: dict[str, Value | _Missing] = dict(feeds)
    cx.used.update(feed.name for feed in env.values())  # type: ignore[union-attr]
    needed = _used_names(graph, kept, wanted)
    # A refused value is reported once, where it is refused: what uses it stays quiet.
    poisoned: set[str] = set()
    for tensor_name, (index, tensor) in initializers.items():
        if tensor_name in needed:
            array = _initializer(tensor, index, cx, problems)
            if array is None:
                poisoned.add(tensor_name)
            else:
                env[tensor_name] = array
                if array.dtype.kind == "f":
                    cx.weight_names[id(array)] = (array, tensor_name)
    graph_outputs = set(wanted)
    opsets = {e.domain or "ai.onnx": int(e.version) for e in model.opset_import}
    for index in kept:
        node = graph.node[index]
        version = opsets.get(node.domain or "ai.onnx", opset)
        _convert_node(cx, node, index, version, env, graph_outputs, poisoned, problems)
    results = _outputs(cx, wanted, env, poisoned, problems)
    if problems:
        raise SpecError(_with_way_out(problems, wanted, poisoned))
    return _document(model, cx, [feed for _, feed in feeds], results, name)


def _with_way_out(
    problems: list[Problem], wanted: Sequence[str], poisoned: set[str]
) -> list[Problem]:
    """Name the outputs that would import on their own (e.g. a classifier's
    probabilities when only its label needs ArgMax)."""
    clean = [o for o in wanted if o not in poisoned]
    if not clean or len(clean) == len(wanted):
        return problems
    flags = " ".join(f"--output {o}" for o in clean)
    hint = f"; output(s) {', '.join(map(repr, clean))} import without it ({flags})"
    return [
        dataclasses.replace(p, message=p.message + hint) if p.code in ("NN702", "NN703") else p
        for p in problems
    ]


def _select_outputs(graph: Any, outputs: Sequence[str] | None) -> list[str]:
    names = [o.name for o in graph.output]
    if outputs is None:
        return names
    unknown = [o for o in outputs if o not in names]
    if unknown:
        raise ValueError(f"the model has no output {unknown[0]!r}{did_you_mean(unknown[0], names)}")
    return list(outputs)


def _needed_nodes(graph: Any, wanted: Sequence[str]) -> list[int]:
    """Indexes of the nodes the wanted outputs depend on, in graph order."""
    needed = set(wanted)
    kept = []
    for index in range(len(graph.node) - 1, -1, -1):
        node = graph.node[index]
        if any(o in needed for o in node.output):
            kept.append(index)
            needed.update(i for i in node.input if i)
    return kept[::-1]


def _used_names(graph: Any, kept: Sequence[int], wanted: Sequence[str]) -> set[str]:
    names = set(wanted)
    for index in kept:
        names.update(graph.node[index].input)
    return names


def _graph_inputs(
    graph: Any,
    initializers: Mapping[str, Any],
    problems: list[Problem],
) -> tuple[str, list[tuple[str, Dyn]]]:
    """The document's dtype and every input by ONNX name (symbolic dims kept, a missing
    batch dim named); inputs no kept node uses stay, as the model's interface."""
    entries = [(k, i) for k, i in enumerate(graph.input) if i.name not in initializers]
    dtypes = set()
    shapes = []
    for k, value in entries:
        pointer = f"/graph/input/{k}"
        tensor = value.type.tensor_type if value.type.HasField("tensor_type") else None
        if tensor is None or tensor.elem_type not in _DTYPES:
            kind = "not a tensor" if tensor is None else f"elem_type {tensor.elem_type}"
            problems.append(
                Problem(
                    "NN706",
                    f"input {value.name!r} is {kind}; nnspec inputs are float32 or float64",
                    pointer,
                )
            )
            continue
        dtypes.add(_DTYPES[tensor.elem_type])
        if not tensor.HasField("shape"):
            problems.append(Problem("NN705", f"input {value.name!r} has no shape", pointer))
            continue
        empty = [
            a
            for a, d in enumerate(tensor.shape.dim)
            if d.HasField("dim_value") and d.dim_value <= 0
        ]
        if empty:
            problems.append(
                Problem(
                    "NN706",
                    f"input {value.name!r} has dim {tensor.shape.dim[empty[0]].dim_value} on "
                    f"axis {empty[0]}; nnspec dims are positive (export with a dynamic or a "
                    "positive dim)",
                    pointer,
                )
            )
            continue
        shapes.append((value.name, _dims(tensor.shape), _DTYPES[tensor.elem_type]))
    if len(dtypes) > 1:
        problems.append(
            Problem(
                "NN706",
                f"the inputs mix {' and '.join(sorted(dtypes))}; nnspec models have one "
                "float dtype",
                "/graph/input",
            )
        )
    dtype = min(dtypes) if dtypes else _initializer_dtype(graph)
    seen: set[str] = set()
    feeds = []
    for raw, dims, dt in shapes:
        name = sanitize(raw, "x")
        while name in seen:
            name += "_"
        seen.add(name)
        feeds.append((raw, Dyn(name, TensorType(dims, dt))))
    if problems:
        raise SpecError(problems)
    return dtype, feeds


def _initializer_dtype(graph: Any) -> str:
    for tensor in graph.initializer:
        if tensor.data_type in _DTYPES:
            return _DTYPES[tensor.data_type]
    return "float32"


def _dims(shape: Any) -> tuple[Dim, ...]:
    """ONNX dims: dim_value → int, dim_param → a symbol, none → "batch" on axis 0."""
    dims: list[Dim] = []
    for axis, dim in enumerate(shape.dim):
        if dim.HasField("dim_value") and dim.dim_value > 0:
            dims.append(int(dim.dim_value))
        elif dim.HasField("dim_param") and dim.dim_param:
            dims.append(sanitize(dim.dim_param, "batch")[:64])
        else:
            dims.append("batch" if axis == 0 else None)
    return tuple(dims)


def _initializer(tensor: Any, index: int, cx: Context, problems: list[Problem]) -> Any:
    import onnx.numpy_helper

    pointer = f"/graph/initializer/{index}"
    count = int(np.prod(tensor.dims, dtype=np.int64)) if tensor.dims else 1
    if count > cx.max_elements:
        problems.append(
            Problem(
                "NN601",
                f"initializer {tensor.name!r} has {count} elements, more than the limit "
                f"of {cx.max_elements} (max_param_elements)",
                pointer,
            )
        )
        return None
    try:
        array = onnx.numpy_helper.to_array(tensor)
    except (ValueError, TypeError, KeyError) as exc:
        problems.append(Problem("NN706", f"initializer {tensor.name!r}: {exc}", pointer))
        return None
    if array.dtype.kind not in "fiub" or (
        array.dtype.kind == "f" and array.dtype.name not in _DTYPES.values()
    ):
        problems.append(
            Problem(
                "NN706",
                f"initializer {tensor.name!r} is {array.dtype}; nnspec reads float32, "
                "float64 and integer constants",
                pointer,
            )
        )
        return None
    return array


def _attrs(node: Any) -> dict[str, Any]:
    import onnx.helper

    attrs = {}
    for attribute in node.attribute:
        value = onnx.helper.get_attribute_value(attribute)
        attrs[attribute.name] = (
            value.decode("utf-8", "replace") if isinstance(value, bytes) else value
        )
    return attrs


def _hint(node: Any, graph_outputs: set[str]) -> str:
    """Name base of the nodes made for `node`: its output's name when that is a graph
    output, else the output name unless exporter-generated, else the node name."""
    first = node.output[0] if node.output else ""
    if first in graph_outputs or (first and not _GENERATED.search(first)):
        return sanitize(first)
    return sanitize(node.name or node.op_type.lower())


def _convert_node(
    cx: Context,
    node: Any,
    index: int,
    opset: int,
    env: dict[str, Value | _Missing],
    graph_outputs: set[str],
    poisoned: set[str],
    problems: list[Problem],
) -> None:
    domain = node.domain or "ai.onnx"
    label = f"node {node.name!r} ({domain}::{node.op_type}, opset {opset})"
    pointer = f"/graph/node/{index}"

    def fail(code: str, why: str) -> None:
        problems.append(Problem(code, f"{label}: {why}", pointer))
        poisoned.update(node.output)

    # What a node is cannot be blamed on its inputs: an unknown op or domain is reported
    # even behind another failure, so every unsupported node is named at once.
    if domain != "ai.onnx":
        fail(
            "NN703",
            f"domain {domain!r} is not the standard ONNX domain; nnspec imports only standard ops",
        )
        return
    converter = CONVERTERS.get(node.op_type)
    if converter is None:
        fail("NN702", f"{node.op_type} has no nnspec counterpart (see docs/onnx.md)")
        return
    if any(i in poisoned for i in node.input):
        poisoned.update(node.output)  # already reported where it started
        return
    inputs: list[Value | None] = []
    for name in node.input:
        value = env.get(name) if name else None
        if isinstance(value, _Missing):
            fail("NN702", f"uses {value.what}, which nnspec does not compute")
            return
        if name and value is None:
            fail("NN705", f"input {name!r} is not produced by any node, input or initializer")
            return
        inputs.append(value)
    try:
        attrs = _attrs(node)
        if any(a.g.node or a.graphs for a in node.attribute):
            fail("NN702", "sub-graphs (control flow) are not imported")
            return
        cx.hint = _hint(node, graph_outputs)
        values = converter(cx, OnnxNode(node.op_type, inputs, attrs, list(node.output), opset))
    except ImportFailure as exc:
        fail(exc.code, exc.why)
        return
    except (ValueError, IndexError, TypeError, KeyError) as exc:
        fail("NN702", f"cannot be converted: {exc}")
        return
    for k, out in enumerate(node.output):
        if not out:
            continue
        env[out] = values[k] if k < len(values) else _Missing(f"{node.op_type}'s output {k}")


def _outputs(
    cx: Context,
    wanted: Sequence[str],
    env: Mapping[str, Value | _Missing],
    poisoned: set[str],
    problems: list[Problem],
) -> list[Dyn]:
    results: list[Dyn] = []
    for k, name in enumerate(wanted):
        value = env.get(name)
        if name in poisoned:
            continue
        if isinstance(value, _Missing) or value is None:
            what = value.what if isinstance(value, _Missing) else "a value no node produces"
            problems.append(
                Problem(
                    "NN702",
                    f"output {name!r} is {what}, which nnspec does not compute",
                    f"/graph/output/{k}",
                )
            )
            continue
        if not isinstance(value, Dyn):  # a constant output: a node that copies a param
            cx.hint = sanitize(name)
            value = cx.emit("identity", [cx.dyn(value)])
            assert isinstance(value, Dyn)
        results.append(_claim(cx, value, sanitize(name), results))
    return results


def _claim(cx: Context, value: Dyn, name: str, taken: Sequence[Dyn]) -> Dyn:
    """`value` under the output's own name: its node is renamed when nothing else has
    that name, else an identity node carries it."""
    if value.name == name:
        return value
    node = next((n for n in cx.nodes if n["id"] == value.name), None)
    free = name not in cx.used
    if node is not None and free and all(t.name != value.name for t in taken):
        cx.used.add(name)
        node["id"] = name
        for other in cx.nodes:
            other["inputs"] = [name if i == value.name else i for i in other["inputs"]]
        return Dyn(name, value.type)
    cx.hint = name
    result = cx.emit("identity", [value])
    assert isinstance(result, Dyn)
    return result


def _document(
    model: Any, cx: Context, feeds: Sequence[Dyn], results: Sequence[Dyn], name: str | None
) -> Imported:
    outputs = [r.name for r in results]
    rewriter = patterns.Rewriter(cx.nodes, cx.params, cx.frozen, outputs)
    patterns.fuse_silu(rewriter)
    patterns.fold_batchnorm(rewriter, cx.batchnorm)
    patterns.recover_dense(rewriter)
    patterns.drop_unused_params(rewriter)
    nodes = _implied_inputs(rewriter.nodes, feeds)
    meta: dict[str, Any] = {"opset": default_opset(model), "ir_version": int(model.ir_version)}
    if model.producer_name:
        meta["producer"] = f"{model.producer_name} {model.producer_version}".strip()
    if model.graph.name:
        meta["graph"] = model.graph.name
    document: dict[str, Any] = {
        "nnspec": "1",
        "name": name or sanitize(model.graph.name or "imported", "imported"),
        "dtype": cx.dtype,
        "x-onnx": meta,
        "inputs": {f.name: {"shape": list(f.type.shape)} for f in feeds},
    }
    params = {}
    for param, value in cx.params.items():
        entry: dict[str, Any] = {"shape": list(value.shape)}
        if param in cx.frozen:
            entry["trainable"] = False
        params[param] = entry
    if params:
        document["params"] = params
    document["nodes"] = nodes
    document["outputs"] = outputs
    inline, _ = with_params(document, cx.params, "", inline_limit=np.iinfo(np.int64).max)
    return Imported(inline, dict(cx.params))


def _implied_inputs(nodes: list[dict[str, Any]], feeds: Sequence[Dyn]) -> list[dict[str, Any]]:
    """Leave out `inputs` where the document's implied wiring gives the same: a node whose
    one input is the previous node (or, first, the single graph input)."""
    result = []
    previous = feeds[0].name if len(feeds) == 1 else None
    for node in nodes:
        node = dict(node)
        if node["inputs"] == [previous] and previous is not None:
            del node["inputs"]
        result.append({"id": node.pop("id"), "op": node.pop("op"), **node})
        previous = result[-1]["id"]
    return result
