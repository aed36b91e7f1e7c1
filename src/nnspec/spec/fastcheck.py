"""A fast yes/no JSON Schema check for the schema stage (`nnspec.spec.conform`).

jsonschema explains errors well but costs ~60 µs per node on the happy path,
which dominates validating a large document. `compile_schema` turns the subset of
draft 2020-12 that our schema uses into plain Python closures that only answer
"valid?"; conform runs jsonschema only on values they reject, so messages still
come from jsonschema. A keyword outside the subset makes compiling fail, and the
caller then uses jsonschema alone: the fast path can be missing, never wrong.
The agreement of both on random documents is a property test.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

Check = Callable[[Any], bool]

# Keywords that never affect validity.
_ANNOTATIONS = frozenset({"$schema", "$id", "title", "description", "default", "$defs"})


class Unsupported(Exception):
    """The schema uses a keyword this compiler does not implement."""


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_integer(value: Any) -> bool:
    """nnspec's integer: a JSON integer literal. Unlike draft 2020-12, where 1.0 is an
    integer, an integer-valued float is not (one spelling per value; see format.md)."""
    return isinstance(value, int) and not isinstance(value, bool)


# Draft 2020-12 types, with nnspec's stricter integer.
_TYPES: dict[str, Check] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "number": _is_number,
    "integer": is_integer,
}


def equal(a: Any, b: Any) -> bool:
    """JSON equality as JSON Schema defines it: true is not 1, [1] equals [1.0]."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(equal(a[k], b[k]) for k in a)
    if _is_number(a) and _is_number(b):
        return a == b
    return type(a) is type(b) and a == b


def compile_schema(schema: Mapping[str, Any], defs: Mapping[str, Any]) -> Check:
    """A predicate equivalent to jsonschema's ``is_valid`` for `schema`, whose
    ``$ref``s point into `defs` (``#/$defs/<name>``). Raises `Unsupported`."""
    compiled: dict[str, Check] = {}

    def ref(target: str) -> Check:
        name = target.removeprefix("#/$defs/")
        if name == target or name not in defs:
            raise Unsupported(target)
        if name not in compiled:
            compiled[name] = lambda v: compiled[name](v)  # placeholder for recursion
            compiled[name] = build(defs[name])
        return compiled[name]

    def build(node: Any) -> Check:
        if node is True or node == {}:
            return lambda v: True
        if node is False:
            return lambda v: False
        found = [_keyword(key, value, node, build, ref) for key, value in node.items()]
        checks = [c for c in found if c is not None]
        if len(checks) == 1:
            return checks[0]

        def every(v: Any) -> bool:
            for check in checks:  # noqa: SIM110 (all() of a generator is slower here)
                if not check(v):
                    return False
            return True

        return every

    return build(schema)


def _keyword(
    key: str,
    value: Any,
    node: Mapping[str, Any],
    build: Callable[[Any], Check],
    ref: Callable[[str], Check],
) -> Check | None:
    """The check for one keyword of `node`, or None for annotations and keywords
    that another keyword of the same node handles."""
    if key in _ANNOTATIONS or key in ("then", "else"):
        return None
    if key == "patternProperties":  # checked together with additionalProperties
        return None if "additionalProperties" in node else _additional(True, node, build)
    if key == "additionalProperties":
        return _additional(value, node, build)
    if key == "$ref":
        return ref(value)
    if key == "type":
        types = [_TYPES[t] for t in (value if isinstance(value, list) else [value])]
        return lambda v: any(t(v) for t in types)
    if key in ("enum", "const"):
        options = value if key == "enum" else [value]
        if all(o is None or isinstance(o, str) for o in options):
            names = frozenset(options)  # hashing is exact here: no numbers or booleans
            return lambda v: (v is None or isinstance(v, str)) and v in names
        return lambda v: any(equal(v, option) for option in options)
    if key in _BOUNDS:
        test = _BOUNDS[key]
        return lambda v: not _is_number(v) or test(v, value)
    if key == "pattern":
        pattern = re.compile(value)
        return lambda v: not isinstance(v, str) or pattern.search(v) is not None
    if key == "minLength":
        return lambda v: not isinstance(v, str) or len(v) >= value
    if key in ("minItems", "maxItems", "minProperties"):
        kind = dict if key == "minProperties" else list
        at_least = key != "maxItems"
        return lambda v: (
            not isinstance(v, kind) or (len(v) >= value if at_least else len(v) <= value)
        )
    if key == "uniqueItems":
        return None if not value else lambda v: not isinstance(v, list) or _unique(v)
    if key == "required":
        return lambda v: not isinstance(v, dict) or all(k in v for k in value)
    if key == "items":
        item = build(value)
        return lambda v: not isinstance(v, list) or all(item(x) for x in v)
    if key == "propertyNames":
        name = build(value)
        return lambda v: not isinstance(v, dict) or all(name(k) for k in v)
    if key == "properties":
        if "additionalProperties" in node or "patternProperties" in node:
            return None  # one pass over the keys does both, in `_additional`
        props = {k: build(s) for k, s in value.items()}
        return lambda v: (
            not isinstance(v, dict) or all(props[k](x) for k, x in v.items() if k in props)
        )
    if key in ("anyOf", "allOf"):
        branches = [build(s) for s in value]
        combine = any if key == "anyOf" else all
        return lambda v: combine(b(v) for b in branches)
    if key == "not":
        inner = build(value)
        return lambda v: not inner(v)
    if key == "if":
        cond, then, other = (
            build(value),
            build(node.get("then", True)),
            build(node.get("else", True)),
        )
        return lambda v: then(v) if cond(v) else other(v)
    raise Unsupported(key)


_BOUNDS: dict[str, Callable[[Any, Any], bool]] = {
    "minimum": lambda v, b: v >= b,
    "maximum": lambda v, b: v <= b,
    "exclusiveMinimum": lambda v, b: v > b,
    "exclusiveMaximum": lambda v, b: v < b,
}


def _unique(items: list[Any]) -> bool:
    return all(not equal(a, b) for i, a in enumerate(items) for b in items[i + 1 :])


def _additional(value: Any, node: Mapping[str, Any], build: Callable[[Any], Check]) -> Check:
    """properties, patternProperties and additionalProperties of one node, in one
    pass over the keys (a key may match both properties and a pattern)."""
    props = {k: build(s) for k, s in node.get("properties", {}).items()}
    patterns = [(re.compile(p), build(s)) for p, s in node.get("patternProperties", {}).items()]
    extra = build(value)

    def check(v: Any) -> bool:
        if not isinstance(v, dict):
            return True
        for k, x in v.items():
            prop = props.get(k)
            if prop is not None and not prop(x):
                return False
            matched = False
            for pattern, pattern_check in patterns:
                if pattern.search(k):
                    matched = True
                    if not pattern_check(x):
                        return False
            if prop is None and not matched and not extra(x):
                return False
        return True

    return check
