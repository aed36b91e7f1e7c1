"""The JSON Schema of format version "1", built from the op registry.

`build_schema()` is the single source; `schemas/nnspec-1.schema.json` at the
repository root is its rendered copy for editors and other tools, shipped in the
wheel (``python -m dev.regen --check`` fails when the file is stale; CI runs it).
Validation here is done in two steps so large documents stay fast: the document
skeleton once, then each node against the schema of its own op only (no 40-way
``if`` chain per node).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from nnspec.examples import bundled_dir
from nnspec.ir import DTYPES, FLOAT_DTYPES
from nnspec.ops import LOSSES, REGISTRY
from nnspec.optimizers import OPTIMIZERS, SCHEDULES
from nnspec.regularizers import SCHEMA as REGULARIZER
from nnspec.spec.lower import ACTIVATIONS, COMPOSITES, INIT_NAMES

FORMAT_VERSIONS = ("1",)
SCHEMA_FILE = "nnspec-1.schema.json"
# Where the published schema lives (its $id): an https URL, so a document's "$schema",
# an editor setting or a SchemaStore catalog entry can point at it (docs/ci.md#editors).
SCHEMA_URL = f"https://raw.githubusercontent.com/nnspec/nnspec/main/schemas/{SCHEMA_FILE}"
NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_.\-]{0,127}$"
SYMBOL_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"
METRICS = ("accuracy", "mse", "mae")
MONITORS = ("loss", "val_loss", *METRICS, *(f"val_{m}" for m in METRICS))
"""What early stopping may watch: the losses and the metrics, on training or held-out data."""
EXTENSION: dict[str, Any] = {"^x-": {}}


def _obj(properties: dict[str, Any], required: tuple[str, ...] = (), **extra: Any) -> dict:
    """An object schema that rejects unknown keys except ``x-`` extensions."""
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    schema["patternProperties"] = EXTENSION
    schema["additionalProperties"] = False
    schema.update(extra)
    return schema


def _ref(name: str) -> dict:
    return {"$ref": f"#/$defs/{name}"}


_GAIN = {"type": "number", "exclusiveMinimum": 0, "default": 1.0, "description": "scales the limit"}
INIT_SETTINGS: dict[str, dict[str, dict[str, Any]]] = {
    "zeros": {},
    "ones": {},
    "constant": {"value": {"type": "number", "default": 0.0, "description": "every element"}},
    "normal": {
        "mean": {"type": "number", "default": 0.0},
        "std": {"type": "number", "minimum": 0, "default": 0.05},
    },
    "uniform": {
        "low": {"type": "number", "default": -0.05},
        "high": {"type": "number", "default": 0.05},
    },
    **{name: {"gain": _GAIN} for name in INIT_NAMES if name.startswith(("glorot", "xavier", "he"))},
}
"""Each init kind's settings (the interpreter's `init` reads exactly these, with these
defaults; a test keeps the two in step)."""


@dataclass(frozen=True)
class Union:
    """Objects told apart by one key (an optimizer's name, a loss's op, an init's name):
    each variant takes only its own settings, so a setting that would do nothing is an
    error that says which variants it belongs to."""

    kind: str  # how messages name a variant: "optimizer", "init", "loss", "op"
    key: str  # the discriminating key
    variants: Mapping[str, Mapping[str, Mapping[str, Any]]]  # name -> its settings' schemas
    common: tuple[str, ...] = ()  # keys every variant takes besides `key`
    required: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # variant -> musts

    def owners(self, setting: str) -> list[str]:
        """The variants that take `setting`, sorted."""
        return sorted(name for name, settings in self.variants.items() if setting in settings)

    def schema(self) -> dict[str, Any]:
        """One object schema that dispatches on `key` to the variant's ``$defs`` entry."""
        return {
            "type": "object",
            "required": [self.key],
            "properties": {self.key: {"enum": list(self.variants)}},
            "allOf": [
                {
                    "if": {"properties": {self.key: {"const": name}}, "required": [self.key]},
                    "then": _ref(f"{self.kind}.{name}"),
                }
                for name in self.variants
            ],
        }

    def defs(self) -> dict[str, Any]:
        return {
            f"{self.kind}.{name}": _obj(
                {self.key: {"const": name}, **{k: dict(v) for k, v in settings.items()}},
                (self.key, *self.required.get(name, ())),
            )
            for name, settings in self.variants.items()
        }


UNIONS: dict[str, Union] = {
    "optimizer": Union(
        "optimizer",
        "name",
        {
            name: {
                s.name: {**s.schema, "default": s.default, "description": s.doc} for s in o.settings
            }
            for name, o in OPTIMIZERS.items()
        },
    ),
    "schedule": Union(
        "schedule",
        "name",
        {
            name: {
                s.name: {
                    **s.schema,
                    **({} if s.name in d.derived else {"default": s.default}),
                    "description": s.doc,
                }
                for s in d.settings
            }
            for name, d in SCHEDULES.items()
        },
        required={name: d.required for name, d in SCHEDULES.items() if d.required},
    ),
    "init": Union("init", "name", INIT_SETTINGS),
    "loss": Union("loss", "op", {name: REGISTRY[name].attrs for name in LOSSES}),
    "activation": Union("activation", "op", {name: REGISTRY[name].attrs for name in ACTIVATIONS}),
    "node": Union(
        "op",
        "op",
        {
            **{name: op.attrs for name, op in REGISTRY.items()},
            **{name: comp.attrs for name, comp in COMPOSITES.items()},
        },
        common=("id", "inputs", "description"),
    ),
}
"""The discriminated unions of the format, by the key under which they appear
(a node's union is found by its place in "nodes")."""


def _node_schema(name: str, doc: str, attrs: dict, required: tuple[str, ...]) -> dict:
    properties = {
        "op": {"const": name},
        "id": {**_ref("name"), "description": "name of this node's output"},
        "inputs": {
            "type": "array",
            "items": _ref("name"),
            "description": "names of inputs, params or earlier nodes; default: the previous node",
        },
        "description": {"type": "string"},
        **{k: dict(v) for k, v in attrs.items()},
    }
    return _obj(properties, ("op", *required), description=doc)


def _defs() -> dict[str, Any]:
    dim = {
        "description": "a size, null (any), or a symbol that must agree wherever it appears",
        "anyOf": [
            {"type": "integer", "minimum": 1},
            {"type": "null"},
            {"type": "string", "pattern": SYMBOL_PATTERN},
        ],
    }
    defs: dict[str, Any] = {
        "name": {"type": "string", "pattern": NAME_PATTERN},
        "literal": {
            "description": "a JSON number, or a list of literals (strings and booleans are not)",
            "type": ["number", "array"],
            "items": _ref("literal"),
        },
        "dim": dim,
        "tensor": _obj(
            {
                "shape": {"type": "array", "items": _ref("dim")},
                "dtype": {"enum": list(DTYPES), "default": "float32"},
                "description": {"type": "string"},
            },
            ("shape",),
        ),
        "init": {"anyOf": [{"enum": list(INIT_NAMES)}, UNIONS["init"].schema()]},
        **UNIONS["init"].defs(),
        "param": _obj(
            {
                "shape": {"type": "array", "items": {"type": "integer", "minimum": 1}},
                "dtype": {"enum": list(FLOAT_DTYPES)},
                "init": _ref("init"),
                "value": {
                    **_ref("literal"),
                    "description": "exact values, nested lists in row-major order",
                },
                "trainable": {"type": "boolean", "default": True},
                "description": {"type": "string"},
            },
            (),
            description="a tensor with init or value (or from the weights file)",
            **{"not": {"required": ["init", "value"]}},
        ),
        "loss": {
            "anyOf": [
                {"enum": list(LOSSES)},
                UNIONS["loss"].schema(),
                _obj({"node": _ref("name")}, ("node",)),
            ]
        },
        **UNIONS["loss"].defs(),
        "activation": {
            "description": "a layer's activation: an op name (with its attribute defaults) or "
            "an object with the op and its attributes",
            "anyOf": [{"enum": [None, "linear", *ACTIVATIONS]}, UNIONS["activation"].schema()],
        },
        **UNIONS["activation"].defs(),
        "optimizer": {"anyOf": [{"enum": list(OPTIMIZERS)}, UNIONS["optimizer"].schema()]},
        **UNIONS["optimizer"].defs(),
        "schedule": {
            "description": "learning-rate schedule, per epoch (docs/format.md#training)",
            "anyOf": [
                {"enum": [n for n, d in SCHEDULES.items() if not d.required]},
                UNIONS["schedule"].schema(),
            ],
        },
        **UNIONS["schedule"].defs(),
        "regularizer": REGULARIZER,
        "early_stopping": _obj(
            {
                "monitor": {
                    "enum": list(MONITORS),
                    "description": "the value watched (default: val_loss with validation, "
                    "else loss)",
                },
                "patience": {
                    "type": "integer",
                    "minimum": 0,
                    "default": 5,
                    "description": "epochs without improvement before stopping",
                },
                "min_delta": {
                    "type": "number",
                    "minimum": 0,
                    "default": 0.0,
                    "description": "the least change that counts as improvement",
                },
                "restore_best": {
                    "type": "boolean",
                    "default": True,
                    "description": "end with the params of the best epoch",
                },
            },
            description="stop when the monitored value stops improving (Keras's EarlyStopping)",
        ),
        "training": _obj(
            {
                "output": {**_ref("name"), "description": "the output the loss is applied to"},
                "target": {
                    **_obj(
                        {
                            "name": _ref("name"),
                            "shape": {"type": "array", "items": _ref("dim")},
                            "dtype": {"enum": list(DTYPES)},
                            "description": {"type": "string"},
                        },
                        ("shape",),
                    ),
                },
                "loss": _ref("loss"),
                "optimizer": _ref("optimizer"),
                "epochs": {"type": "integer", "minimum": 1},
                "batch_size": {"type": ["integer", "null"], "minimum": 1},
                "seed": {"type": "integer", "minimum": 0},
                "metrics": {
                    "type": "array",
                    "items": {"enum": list(METRICS)},
                    "uniqueItems": True,
                },
                "schedule": _ref("schedule"),
                "validation_split": {
                    "type": "number",
                    "exclusiveMinimum": 0,
                    "exclusiveMaximum": 1,
                    "description": "share of the rows held out (seeded) for validation",
                },
                "early_stopping": _ref("early_stopping"),
                "regularization": {
                    "type": "object",
                    "description": "L1/L2 penalties on params, by param name",
                    "propertyNames": _ref("name"),
                    "additionalProperties": _ref("regularizer"),
                },
            },
            ("loss",),
        ),
    }
    for op in REGISTRY.values():
        defs[f"node.{op.name}"] = _node_schema(op.name, op.doc, dict(op.attrs), op.required)
    for comp in COMPOSITES.values():
        defs[f"node.{comp.name}"] = _node_schema(
            comp.name, comp.doc, dict(comp.attrs), comp.required
        )
    ops = [*REGISTRY, *COMPOSITES]
    defs["node"] = {
        "type": "object",
        "required": ["op"],
        "properties": {"op": {"enum": ops}},
        "allOf": [
            {
                "if": {"properties": {"op": {"const": name}}, "required": ["op"]},
                "then": _ref(f"node.{name}"),
            }
            for name in ops
        ],
    }
    return defs


def build_schema() -> dict[str, Any]:
    """The whole schema of the current format version."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_URL,
        "title": "nnspec document, format version 1",
        "description": "A neural network as a JSON computation graph (see docs/format.md).",
        **_obj(
            {
                "$schema": {
                    "type": "string",
                    "description": "for editors: where this schema is, e.g. " + SCHEMA_URL,
                },
                "nnspec": {"enum": list(FORMAT_VERSIONS), "description": "format version"},
                "name": {"type": "string"},
                "description": {"type": "string"},
                "dtype": {"enum": list(FLOAT_DTYPES), "default": "float32"},
                "seed": {"type": "integer", "minimum": 0, "description": "seed of param init"},
                "inputs": {
                    "type": "object",
                    "minProperties": 1,
                    "propertyNames": _ref("name"),
                    "additionalProperties": _ref("tensor"),
                },
                "params": {
                    "type": "object",
                    "propertyNames": _ref("name"),
                    "additionalProperties": _ref("param"),
                },
                "weights": {
                    "type": "string",
                    "minLength": 1,
                    "description": ".npz file beside the document holding param values",
                },
                "nodes": {"type": "array", "minItems": 1, "items": _ref("node")},
                "outputs": {"type": "array", "minItems": 1, "items": _ref("name")},
                "training": _ref("training"),
            },
            ("nnspec", "inputs", "nodes"),
        ),
        "$defs": _defs(),
    }


def render_schema() -> str:
    """The schema file's exact text (sorted keys are not used: order is meaningful to readers)."""
    return json.dumps(build_schema(), indent=2, ensure_ascii=False) + "\n"


def shipped_schema_text() -> str:
    """The published schema file (``schemas/`` at the repository root, or in the wheel)."""
    return (bundled_dir("schemas") / SCHEMA_FILE).read_text(encoding="utf-8")


@cache
def schema() -> dict[str, Any]:
    return build_schema()


def skeleton_schema() -> dict[str, Any]:
    """The schema with nodes checked only for being objects with an op (see module doc)."""
    skeleton = build_schema()
    skeleton["properties"]["nodes"]["items"] = {
        "type": "object",
        "required": ["op"],
        "properties": {"op": {"type": "string"}},
    }
    return skeleton
