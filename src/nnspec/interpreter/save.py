"""Writing trained params back into a document, exactly.

The last step of ``nnspec train``: the input document (as parsed JSON) gets every
param's value, inline for small models and in a ``.npz`` weights file beside the
output for large ones (more than `INLINE_LIMIT` elements in all). Floats are
written in their shortest form that reads back to the same bits in the param's
dtype, so save → load is the identity.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

INLINE_LIMIT = 10_000
"""Params with more elements than this in total go to a weights file."""


def exact_list(array: np.ndarray) -> Any:
    """Nested lists of Python floats that parse back to exactly `array` in its dtype.

    float32 values use NumPy's shortest float32 repr (``0.1``, not
    ``0.10000000149011612``); float64 values use Python's, which is shortest too.
    """
    if array.dtype == np.float32:
        flat = np.array([float(str(v)) for v in array.ravel()], dtype=np.float64)
        return flat.reshape(array.shape).tolist()
    return array.tolist()


def with_params(
    doc: Mapping[str, Any],
    params: Mapping[str, np.ndarray],
    weights_name: str,
    inline_limit: int = INLINE_LIMIT,
) -> tuple[dict[str, Any], dict[str, np.ndarray] | None]:
    """A copy of `doc` holding `params`, and the arrays for the weights file (or None).

    Inline: each param entry gets a ``value`` (its ``init`` is dropped) and any
    old ``weights`` key goes. Otherwise ``weights`` names `weights_name`, which
    the caller writes beside the document; param entries keep their shape/init
    (the file's values take precedence when the document is loaded).
    """
    result = copy.deepcopy(dict(doc))
    total = sum(int(v.size) for v in params.values())
    if total > inline_limit:
        result["weights"] = weights_name
        return result, {name: np.asarray(v) for name, v in params.items()}
    result.pop("weights", None)
    entries = result.setdefault("params", {})
    for name, value in params.items():
        entry = {k: v for k, v in entries.get(name, {}).items() if k != "init"}
        entry["value"] = exact_list(np.asarray(value))
        entries[name] = entry
    return result, None


def dumps(doc: Any) -> str:
    """JSON with two-space indentation, but each array without objects on one line."""
    return _dump(doc, 0) + "\n"


def _flat(value: Any) -> bool:
    """A list holding no objects at any depth: shapes, names, weight values."""
    if isinstance(value, list):
        return all(_flat(v) for v in value)
    return not isinstance(value, dict)


def _dump(value: Any, depth: int) -> str:
    pad, inner = "  " * depth, "  " * (depth + 1)
    if isinstance(value, dict) and value:
        items = [
            f"{inner}{json.dumps(k, ensure_ascii=False)}: {_dump(v, depth + 1)}"
            for k, v in value.items()
        ]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, list) and value and not _flat(value):
        items = [inner + _dump(v, depth + 1) for v in value]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def weights_path(out: Path) -> Path:
    """``model.json`` -> ``model.weights.npz`` in the same folder."""
    return out.with_name(out.stem + ".weights.npz")


def save(
    document: Mapping[str, Any], path: str | os.PathLike[str], params: Mapping[str, Any]
) -> Path:
    """Write `document` (parsed JSON) with `params` (e.g. ``model.params``) to `path`.

    What ``nnspec train`` writes: values inline, or in ``<stem>.weights.npz`` beside
    `path` past `INLINE_LIMIT` elements; both files atomically, and only after the
    result is proven to load back to exactly these values. Raises ValueError for a
    non-finite param (nothing is written). Returns the path written.
    """
    from nnspec.fileio import write_atomic, write_npz
    from nnspec.spec.load import load

    out = Path(path)
    arrays = {name: np.asarray(v) for name, v in params.items()}
    for name, value in arrays.items():
        if value.dtype.kind == "f" and not np.all(np.isfinite(value)):
            raise ValueError(f"param {name!r} is not finite; {out} was not written")
    weights = weights_path(out)
    result, stored = with_params(document, arrays, weights.name)
    text = dumps(result)
    if stored is None:
        reloaded = {p.name: p.value for p in load(text, base_dir=out.parent).params}
        for name, value in arrays.items():
            got = reloaded.get(name)
            if got is None or got.tobytes() != value.tobytes():
                raise ValueError(f"internal error: {name!r} does not round-trip (please report)")
    else:
        write_atomic(weights, lambda f: write_npz(f, stored))
    write_atomic(out, text)
    return out
