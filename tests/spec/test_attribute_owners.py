"""NN102 names the ops an unknown node attribute belongs to, for every attribute.

Which ops take `alpha` changes whenever an op is added, so the exact list is not
frozen in a corpus golden file (where a new op would have to edit it): it is
derived here from the schema's node definitions, which the registry generates.
"""

from __future__ import annotations

from typing import Any

import pytest

import nnspec
from nnspec.spec.schema import schema

NODE_KEYS = {"op", "id", "inputs", "description"}


def _owners() -> dict[str, list[str]]:
    """Attribute -> the node ops (primitives and composites) whose schema declares it."""
    owners: dict[str, list[str]] = {}
    for name, definition in schema()["$defs"].items():
        if name.startswith("node.") and "properties" in definition:
            for key in set(definition["properties"]) - NODE_KEYS:
                owners.setdefault(key, []).append(name.removeprefix("node."))
    return {key: sorted(ops) for key, ops in sorted(owners.items())}


OWNERS = _owners()


def _listed(names: list[str]) -> str:
    return " and ".join(", ".join(repr(n) for n in names).rsplit(", ", 1))


def _problems(op: str, key: str, value: Any) -> list[str]:
    document = {
        "nnspec": "1",
        "inputs": {"x": {"shape": ["batch", 2]}},
        "nodes": [{"op": op, key: value}],
    }
    return [f"{p.code} {p.message}" for p in nnspec.validate(document) if p.code == "NN102"]


def test_the_lecture_case_relu_with_alpha() -> None:
    """max(0.1x, x) is leaky_relu, not relu: the message says which ops take alpha."""
    expected = (
        f"NN102 unknown key 'alpha' in 'nodes[0]': 'alpha' belongs to op "
        f"{_listed(OWNERS['alpha'])}, not to 'relu'"
    )
    assert "leaky_relu" in OWNERS["alpha"]
    (message,) = _problems("relu", "alpha", 0.1)
    assert message.startswith(expected)


@pytest.mark.parametrize("key", sorted(OWNERS))
def test_an_attribute_on_the_wrong_op_names_its_owners(key: str) -> None:
    op = "relu" if "relu" not in OWNERS[key] else "neg"
    messages = _problems(op, key, 1)
    assert len(messages) == 1, messages
    assert f"{key!r} belongs to op {_listed(OWNERS[key])}, not to {op!r}" in messages[0]
