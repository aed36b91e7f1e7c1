"""Second stage: does the parsed document conform to the JSON Schema?

jsonschema's errors are turned into `Problem`s with stable codes and messages
that name the key, the value and the fix. Nodes are validated one by one against
their own op's schema (fast for big documents, and the errors stay specific).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping
from functools import cache
from typing import Any

import numpy as np
from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError, best_match

from nnspec.errors import Problem, did_you_mean, pointer_join
from nnspec.spec.fastcheck import Check, Unsupported, compile_schema, equal, is_integer
from nnspec.spec.schema import FORMAT_VERSIONS, UNIONS, Union, schema, skeleton_schema

_JSON_TYPES = {
    dict: "object",
    list: "array",
    str: "string",
    bool: "boolean",
    int: "integer",
    float: "number",
    type(None): "null",
}


# One rule for every integer field: a JSON integer literal. 4.0 is a number, not an
# integer (JSON Schema would accept it; nnspec does not, see docs/format.md#numbers).
StrictValidator = validators.extend(
    Draft202012Validator,
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda checker, value: is_integer(value)
    ),
)


_COMBINATORS = frozenset({"anyOf", "allOf", "oneOf", "if", "$ref"})  # "not" stays in a shell
_ANNOTATIONS = frozenset({"description", "default", "title", "$schema", "$id", "$defs"})


class _Validator:
    """jsonschema for the messages, behind compiled yes/no checks for speed (see
    `nnspec.spec.fastcheck`): valid values never reach jsonschema, and an invalid one
    reaches it only at the smallest failing part. A document with one typo among
    200,000 nodes costs one compiled check per node, not a jsonschema walk of all of
    them, so reporting an error is about as fast as accepting the document."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.root = schema
        self.defs: dict[str, Any] = schema.get("$defs", {})
        self._fast: dict[int, Check] = {}
        self._full: dict[int, Any] = {}
        self._shells: dict[int, dict[str, Any]] = {}

    def iter_errors(self, value: Any) -> Iterator[ValidationError]:
        return self._errors(self.root, value, ())

    def fast(self, schema: Any) -> Check:
        check = self._fast.get(id(schema))
        if check is None:
            try:
                check = compile_schema(schema, self.defs)
            except Unsupported:
                check = _never
            self._fast[id(schema)] = check
        return check

    def _errors(self, schema: Any, value: Any, path: tuple) -> Iterator[ValidationError]:
        if self.fast(schema)(value):
            return
        schema = self._deref(schema)
        kind = dict if isinstance(value, dict) else list if isinstance(value, list) else None
        keys = (
            {"properties", "patternProperties", "additionalProperties"}
            if kind is dict
            else {"items"}
        )
        if kind is None or not (keys & schema.keys()) or (_COMBINATORS & schema.keys()):
            yield from self._jsonschema(schema, value, path)
            return
        shell = self._shells.get(id(schema))
        if shell is None:
            shell = self._shells[id(schema)] = _shell(schema, self.defs)
        yield from self._jsonschema(shell, value, path)  # its own keywords
        if kind is list:
            for index, item in enumerate(value):
                yield from self._errors(schema["items"], item, (*path, index))
            return
        props = schema.get("properties", {})
        patterns = schema.get("patternProperties", {})
        extra = schema.get("additionalProperties", True)
        for key, item in value.items():
            subs = [props[key]] if key in props else []
            subs += [s for p, s in patterns.items() if re.search(p, key)]
            if not subs and isinstance(extra, dict):
                subs = [extra]
            for sub in subs:
                yield from self._errors(sub, item, (*path, key))

    def _deref(self, schema: Any) -> Any:
        """The target of a schema that is only a ``$ref`` (and annotations)."""
        while (
            isinstance(schema, dict)
            and "$ref" in schema
            and schema.keys() - _ANNOTATIONS == {"$ref"}
        ):
            schema = self.defs[schema["$ref"].removeprefix("#/$defs/")]
        return schema

    def _jsonschema(self, schema: Any, value: Any, path: tuple) -> Iterator[ValidationError]:
        validator = self._full.get(id(schema))
        if validator is None:
            full = (
                schema
                if isinstance(schema, dict) and "$defs" in schema
                else {**schema, "$defs": self.defs}
            )
            validator = self._full[id(schema)] = (StrictValidator(full), schema)
        for error in validator[0].iter_errors(value):
            error.path.extendleft(reversed(path))
            yield error


def _never(value: Any) -> bool:
    return False


def _shell(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """`schema` without what its children must satisfy (checked one by one instead):
    its own keywords (type, required, unknown keys, ...) and ``$defs`` for its refs."""
    shell = {k: v for k, v in schema.items() if k != "items"}
    if "properties" in shell:
        shell["properties"] = dict.fromkeys(shell["properties"], True)
    if "patternProperties" in shell:
        shell["patternProperties"] = dict.fromkeys(shell["patternProperties"], True)
    if isinstance(shell.get("additionalProperties"), dict):
        shell["additionalProperties"] = True
    shell["$defs"] = defs
    return shell


@cache
def _skeleton_validator() -> _Validator:
    return _Validator(skeleton_schema())


@cache
def _node_validator(op: str) -> _Validator:
    defs = schema()["$defs"]
    return _Validator({"$ref": f"#/$defs/node.{op}", "$defs": defs})


def known_ops() -> tuple[str, ...]:
    return tuple(schema()["$defs"]["node"]["properties"]["op"]["enum"])


def check_schema(doc: Any) -> list[Problem]:
    """Every schema problem of `doc` (an empty list when it conforms)."""
    if not isinstance(doc, dict):
        return [
            Problem(
                "NN104",
                f'the document must be a JSON object such as {{"nnspec": "1", ...}}, '
                f"got {_article(_type_name(doc))}",
            )
        ]
    version = doc.get("nnspec")
    if version not in FORMAT_VERSIONS:
        readable = ", ".join(repr(v) for v in FORMAT_VERSIONS)
        what = (
            'has no "nnspec" format version'
            if version is None
            else (f"has format version {version!r}")
        )
        pointer = "" if version is None else "/nnspec"
        verb = "add" if version is None else "set"
        return [
            Problem(
                "NN106",
                f"the document {what}; this release of nnspec reads version {readable} "
                f'({verb} "nnspec": "1")',
                pointer,
            )
        ]
    problems = [p for e in _skeleton_validator().iter_errors(doc) for p in _convert(e, ())]
    nodes = doc.get("nodes")
    dtype = doc.get("dtype", "float32")
    top = float(np.finfo(dtype).max) if dtype in ("float32", "float64") else math.inf
    if isinstance(nodes, list):
        ops = known_ops()
        for index, node in enumerate(nodes):
            if not isinstance(node, dict) or not isinstance(node.get("op"), str):
                continue  # the skeleton already reported it
            base = ("nodes", index)
            op = node["op"]
            if op not in ops:
                problems.append(
                    Problem(
                        "NN105",
                        f"unknown op {op!r}{did_you_mean(op, ops)}",
                        pointer_join(*base, "op"),
                    )
                )
                continue
            errors = [p for e in _node_validator(op).iter_errors(node) for p in _convert(e, base)]
            settings = UNIONS["node"].variants[op]
            problems.extend(errors or _out_of_dtype_range(node, settings, base, top))
            problems.extend(_activation_out_of_range(node, base, top) if not errors else ())
            problems.extend(_inert(node, base) if not errors else ())
    optimizer = doc.get("training", {}).get("optimizer") if not problems else None
    if isinstance(optimizer, dict) and optimizer.get("name") in UNIONS["optimizer"].variants:
        settings = UNIONS["optimizer"].variants[optimizer["name"]]
        problems += _out_of_dtype_range(optimizer, settings, ("training", "optimizer"), top)
    # jsonschema reports a missing key once per key of "required", each error naming
    # the whole list: the same problem can come twice, and is reported once.
    return list(dict.fromkeys(problems))


def _type_name(value: Any) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)


def _show(value: Any) -> str:
    """A value as messages show it: Python repr, but JSON's null/true/false."""
    text = json.dumps(value) if value is None or isinstance(value, bool) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _convert(error: ValidationError, base: tuple) -> Iterator[Problem]:
    """One jsonschema error as one or more problems (one per unknown key)."""
    path = (*base, *error.absolute_path)
    pointer = pointer_join(*path)
    kind = error.validator
    where = _describe(path)
    if kind in ("additionalProperties", "unevaluatedProperties"):
        allowed = list(error.schema.get("properties", {}))
        union = _union_at(path)
        for key in _extra_keys(error):
            hint = _activation_hint(error.instance, key)  # the fix, so no listing of keys
            owners = _owners(union, error.instance, key)
            yield Problem(
                "NN102",
                f"unknown key {key!r} in {where}{owners}{hint}"
                f"{did_you_mean(key, allowed, listing=not hint)}"
                " (user metadata keys start with 'x-')",
                pointer_join(*path, key),
            )
    elif kind == "required":
        missing = [k for k in error.validator_value if k not in error.instance]
        for key in missing:
            if _misspelled(key, error.instance, error.schema):
                continue  # the unknown-key problem already suggests this key
            hint = _required_hint(_union_at(path), error.instance, key)
            yield Problem("NN103", f"{where} needs the key {key!r}{hint}", pointer)
    elif kind == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        yield Problem(
            "NN104",
            f"{where} must be {_article(expected)}, got {_shown_with_type(error.instance)}"
            f"{_integer_hint(expected, error.instance)}",
            pointer,
        )
    elif kind in ("enum", "const") and (form := _object_form(_union_at(path), error.instance)):
        yield Problem(
            "NN107",
            f"{where} cannot be the bare name {_show(error.instance)}, which needs settings; "
            f"write {form}",
            pointer,
        )
    elif kind in ("enum", "const"):
        options = error.validator_value if kind == "enum" else [error.validator_value]
        shown = [o for o in options if isinstance(o, str)]
        union = _union_at(path)  # names only its object form takes are suggested too
        shown += [v for v in (union.variants if union else ()) if v not in shown]
        hint = did_you_mean(error.instance, shown) if isinstance(error.instance, str) else ""
        if not hint:
            hint = " (allowed: " + ", ".join(_show(o) for o in options) + ")"
        yield Problem("NN107", f"{where} cannot be {_show(error.instance)}{hint}", pointer)
    elif kind in ("anyOf", "oneOf") and error.context:
        yield from _convert(_best(error), base)
    elif kind == "not" and isinstance(error.instance, dict) and "init" in error.instance:
        yield Problem("NN101", f"{where} has both 'init' and 'value'; keep one", pointer)
    elif kind == "pattern":
        yield Problem(
            "NN107",
            f"{where} {_show(error.instance)} is not a valid name: use letters, digits, '_', "
            "'.' or '-', starting with a letter or '_' (at most 128 characters)",
            pointer,
        )
    elif kind in _RANGE_WORDS:
        yield Problem(
            "NN107",
            f"{where} is {_show(error.instance)}, but must be {_RANGE_WORDS[kind]} "
            f"{_show(error.validator_value)}",
            pointer,
        )
    elif kind in ("minItems", "minProperties", "uniqueItems", "minLength", "maxItems"):
        yield Problem("NN107", f"{where} {_size_rule(kind, error.validator_value)}", pointer)
    else:
        yield Problem("NN101", f"{where}: {error.message}", pointer)


# (key, value, other key): with key set to value, other key has no effect.
INERT = (
    ("use_bias", False, "bias_init"),  # dense, maxout: no bias to initialise
)


def _inert(node: dict, base: tuple) -> list[Problem]:
    return [
        Problem(
            "NN102",
            f"key {other!r} in {_describe(base)} has no effect with {key!r} "
            f"{_show(value)}; remove it (or the {key!r} setting)",
            pointer_join(*base, other),
        )
        for key, value, other in INERT
        if other in node and key in node and equal(node[key], value)
    ]


def _out_of_dtype_range(
    values: dict, settings: Mapping[str, Mapping[str, Any]], base: tuple, top: float
) -> list[Problem]:
    """Number attributes (alpha, ...) and optimizer settings are applied in the
    document's dtype: beyond its range they would silently become infinite (1e308 in
    float32)."""
    return [
        Problem(
            "NN107",
            f"{_describe((*base, key))} is {_show(value)}, beyond the range of the "
            f"document's dtype (about {top:.3g}); use a value within it",
            pointer_join(*base, key),
        )
        for key, value in values.items()
        if key in settings
        and "number" in str(settings[key].get("type"))
        and isinstance(value, int | float)
        and not isinstance(value, bool)
        and abs(value) > top
    ]


def _activation_out_of_range(node: dict, base: tuple, top: float) -> list[Problem]:
    """A layer's activation object: its numbers are applied in the document's dtype too."""
    activation = node.get("activation")
    variants = UNIONS["activation"].variants
    if not isinstance(activation, dict) or activation.get("op") not in variants:
        return []
    settings = variants[activation["op"]]
    return _out_of_dtype_range(activation, settings, (*base, "activation"), top)


def _activation_hint(node: Any, key: str) -> str:
    """``; an activation's settings go inside it, ...`` for a layer (dense) given one of
    its activation's attributes (alpha, axis) beside "activation" instead of inside it."""
    op = node.get("op") if isinstance(node, dict) else None
    if not isinstance(op, str) or "activation" not in UNIONS["node"].variants.get(op, {}):
        return ""
    owners = UNIONS["activation"].owners(key)
    if not owners:
        return ""
    current = node.get("activation")
    owner = current if current in owners else owners[0]
    return (
        f"; an activation's settings go inside it, as in "
        f'"activation": {{"op": "{owner}", "{key}": {_show(node[key])}}}'
    )


def _shown_with_type(value: Any) -> str:
    """``string '2'``, ``number 4.0``; JSON's null is its own type and shown once."""
    return "null" if value is None else f"{_type_name(value)} {_show(value)}"


def _integer_hint(expected: str, value: Any) -> str:
    if "integer" in expected and isinstance(value, float) and value.is_integer():
        return f"; write {int(value)}"
    return ""


def _union_at(path: tuple) -> Union | None:
    """The discriminated union whose variant sits at `path`, if any."""
    if len(path) >= 2 and path[-2] == "nodes" and isinstance(path[-1], int):
        return UNIONS["node"]
    if path and isinstance(path[-1], str) and path[-1] in UNIONS and path[-1] != "node":
        return UNIONS[path[-1]]
    return None


def _object_form(union: Union | None, name: Any) -> str:
    """The object a union's variant `name` is written as when its bare name cannot be
    (it has required settings), with each required setting at its default:
    ``{"name": "step", "step_size": 10}``; "" when the name needs no settings or is no
    variant."""
    if union is None or not isinstance(name, str) or not union.required.get(name):
        return ""
    settings = union.variants[name]
    form: dict[str, Any] = {union.key: name}
    for key in union.required[name]:
        schema = settings[key]
        value = schema.get("default", 1)
        form[key] = int(value) if schema.get("type") == "integer" else value
    return json.dumps(form)


def _required_hint(union: Union | None, instance: Any, key: str) -> str:
    """``: the epochs between two decays; add "step_size": 10`` for a setting a union's
    variant requires (the schedule ``step``), with its default as the example value;
    "" when `key` is not such a setting or has no default to show."""
    name = instance.get(union.key) if union is not None and isinstance(instance, dict) else None
    if union is None or not isinstance(name, str):
        return ""
    schema = union.variants.get(name, {}).get(key)
    if not isinstance(schema, Mapping) or "default" not in schema:
        return ""
    value = schema["default"]
    value = int(value) if schema.get("type") == "integer" else value
    told = f" ({schema['description']})" if schema.get("description") else ""
    return f"{told}; add {json.dumps(key)}: {json.dumps(value)}"


def _owners(union: Union | None, instance: Any, key: str) -> str:
    """``: 'momentum' belongs to optimizer 'momentum' and 'sgd', not to 'adam'``."""
    if union is None or not isinstance(instance, dict):
        return ""
    owners = [o for o in union.owners(key) if o != instance.get(union.key)]
    if not owners:
        return ""
    named = " and ".join(", ".join(repr(o) for o in owners).rsplit(", ", 1))
    return f": {key!r} belongs to {union.kind} {named}, not to {instance.get(union.key)!r}"


def _misspelled(key: str, instance: Any, schema: Mapping[str, Any]) -> bool:
    """True if `instance` has an unknown key, reported as such, that is a likely
    misspelling of the missing `key` (so one mistake gives one problem).

    Only keys the schema does not know count (a document with "outputs" but no
    "inputs" is missing "inputs"), and only where the schema rejects unknown keys,
    since otherwise nothing else reports them.
    """
    if schema.get("additionalProperties") is not False and (
        schema.get("unevaluatedProperties") is not False
    ):
        return False
    known = schema.get("properties", {})
    return any(
        k not in known and not k.startswith("x-") and did_you_mean(k, [key]).startswith(";")
        for k in instance
    )


def _best(error: ValidationError) -> ValidationError:
    """The most useful alternative of an anyOf: a branch meant for the value's own type.

    A branch that failed only on the value's JSON type says nothing useful when
    another branch accepted the type and failed on something more specific.
    """
    errors = [e for e in error.context if e.path or e.validator != "type"]
    if isinstance(error.instance, dict | list):
        errors = [e for e in errors if e.path or e.validator not in ("enum", "const")]
    elif isinstance(error.instance, str):
        errors = [e for e in errors if e.validator in ("enum", "const", "pattern")]
    if not errors:
        return _union_type_error(error)
    return best_match(errors)


def _union_type_error(error: ValidationError) -> ValidationError:
    """One type error naming every JSON type the anyOf branches accept."""
    types: list[str] = []
    for branch in error.context:
        if branch.validator == "type" and not branch.path:
            wanted = branch.validator_value
            types += [
                t for t in (wanted if isinstance(wanted, list) else [wanted]) if t not in types
            ]
    return ValidationError(
        "type",
        validator="type",
        validator_value=types,
        instance=error.instance,
        path=error.path,
        schema_path=error.schema_path,
    )


def _extra_keys(error: ValidationError) -> list[str]:
    allowed = set(error.schema.get("properties", {}))
    return sorted(key for key in error.instance if key not in allowed and not key.startswith("x-"))


def _describe(path: tuple) -> str:
    if not path:
        return "the document"
    text = "".join(f".{p}" if isinstance(p, str) else f"[{p}]" for p in path).lstrip(".")
    return f"'{text}'"


def _article(word: str) -> str:
    return ("an " if word[:1] in "aeiou" else "a ") + word


def _size_rule(kind: str, value: Any) -> str:
    return {
        "minItems": f"needs at least {value} item(s)",
        "maxItems": f"takes at most {value} item(s)",
        "minProperties": f"needs at least {value} entry",
        "uniqueItems": "must not repeat an item",
        "minLength": "must not be empty",
    }[kind]


_RANGE_WORDS = {
    "minimum": ">=",
    "maximum": "<=",
    "exclusiveMinimum": ">",
    "exclusiveMaximum": "<",
}
