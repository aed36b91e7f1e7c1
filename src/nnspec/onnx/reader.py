"""Reading an ONNX file as data: bounded size, protobuf parsing, confined external data.

The first stage of import. An ONNX file is parsed by the `onnx` package's protobuf
classes only (never `onnx.load` with external data, which follows any path the file
names). External tensors are read here, by this module, from files that must stay
inside the model's folder, at the offsets and lengths the model states.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from nnspec.errors import Problem, SpecError
from nnspec.fileio import open_regular, read_regular
from nnspec.spec.limits import DEFAULT_LIMITS, Limits
from nnspec.spec.weights import resolve_inside

ModelSource = str | os.PathLike | bytes


def read_model(source: ModelSource, limits: Limits = DEFAULT_LIMITS) -> tuple[Any, Path | None]:
    """The parsed `onnx.ModelProto` and the folder of its file (None for bytes).

    Raises `SpecError` (NN701, NN707, NN601) with every problem found, and `OSError`
    when the file itself cannot be read.
    """
    from google.protobuf.message import DecodeError

    import onnx

    folder: Path | None = None
    if isinstance(source, bytes):
        data = source
        if len(data) > limits.max_file_bytes:
            raise SpecError([_too_big(len(data), limits)])
    else:
        path = Path(source)
        data = _read_file(path, limits)
        folder = path.parent
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except (DecodeError, ValueError, RuntimeError) as exc:
        raise SpecError([Problem("NN701", f"not an ONNX model: {exc}")]) from None
    if not model.HasField("graph") or not model.opset_import:
        raise SpecError([Problem("NN701", "not an ONNX model: it has no graph or no opset_import")])
    problems = _load_external(model, folder, limits)
    if problems:
        raise SpecError(problems)
    return model, folder


def _too_big(size: int, limits: Limits) -> Problem:
    return Problem(
        "NN601",
        f"the model has {size} bytes, more than the limit of {limits.max_file_bytes} "
        "(max_file_bytes)",
    )


def _read_file(path: Path, limits: Limits) -> bytes:
    """The bytes of a regular file of bounded size. A file that cannot be read (missing,
    a FIFO, a device, permissions) raises `OSError`, as any file a command reads."""
    data = read_regular(path, limits.max_file_bytes)
    if len(data) > limits.max_file_bytes:
        raise SpecError([_too_big(len(data), limits)])
    return data


def _tensors(model: Any) -> Iterator[tuple[str, Any]]:
    """Every TensorProto of the main graph with a JSON pointer to it (initializers and
    Constant node values; subgraphs are refused later by the importer)."""
    for index, tensor in enumerate(model.graph.initializer):
        yield f"/graph/initializer/{index}", tensor
    for index, node in enumerate(model.graph.node):
        for a, attribute in enumerate(node.attribute):
            if attribute.HasField("t"):
                yield f"/graph/node/{index}/attribute/{a}/t", attribute.t


def _load_external(model: Any, folder: Path | None, limits: Limits) -> list[Problem]:
    """Fill `raw_data` of external tensors from files inside `folder`."""
    import onnx

    problems: list[Problem] = []
    total = 0
    for pointer, tensor in _tensors(model):
        if tensor.data_location != onnx.TensorProto.EXTERNAL:
            continue
        entries = {e.key: e.value for e in tensor.external_data}
        location = entries.get("location", "")
        where = f"tensor {tensor.name!r}: external data {location!r}"
        path = resolve_inside(location, folder) if folder is not None and location else None
        if path is None:
            reason = (
                "a model given as bytes has no folder to read it from"
                if folder is None
                else "is outside the model's folder"
            )
            problems.append(Problem("NN707", f"{where} {reason}", pointer))
            continue
        try:
            offset = int(entries.get("offset", "0"))
            length = int(entries["length"]) if "length" in entries else None
            with open_regular(path) as handle:
                size = os.fstat(handle.fileno()).st_size
                length = size - offset if length is None else length
                if offset < 0 or length < 0 or offset + length > size:
                    raise ValueError(
                        f"offset {offset} and length {length} exceed the file ({size} bytes)"
                    )
                total += length
                if total > limits.max_file_bytes:
                    problems.append(_too_big(total, limits))
                    return problems
                handle.seek(offset)
                tensor.raw_data = handle.read(length)
        except OSError as exc:
            problems.append(Problem("NN707", f"{where} cannot be read: {exc.strerror}", pointer))
            continue
        except ValueError as exc:
            problems.append(Problem("NN707", f"{where} cannot be read: {exc}", pointer))
            continue
        tensor.data_location = onnx.TensorProto.DEFAULT
        del tensor.external_data[:]
    return problems
