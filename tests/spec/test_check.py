"""The checker on whole documents: the examples validate; mutated examples never crash.

The mutation properties take a bundled example and break it one way — drop a key,
change a value's JSON type, rename a reference, insert garbage text — then demand
that the pipeline either accepts it or reports problems that all have a known code
and, for text input, a line and a column. `nnspec validate` on the mutant must
exit 0 or 1. The fast schema check must agree with jsonschema on every mutant.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import nnspec
from nnspec import load, validate
from nnspec.cli.main import main
from nnspec.errors import CODES, SpecError
from nnspec.ops import REGISTRY
from nnspec.spec.conform import StrictValidator
from nnspec.spec.fastcheck import compile_schema
from nnspec.spec.schema import schema

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.json"))
DOCS = {p.name: json.loads(p.read_text(encoding="utf-8")) for p in EXAMPLES}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_validates_without_problems(path: Path) -> None:
    assert validate(path) == []
    graph = load(path)
    assert graph.nodes and all(node.op in REGISTRY for node in graph.nodes)


def test_api_accepts_text_dict_and_path(tmp_path: Path) -> None:
    text = EXAMPLES[0].read_text(encoding="utf-8")
    assert validate(text) == validate(json.loads(text)) == validate(EXAMPLES[0]) == []


def test_load_raises_with_every_problem() -> None:
    doc = copy.deepcopy(DOCS["explicit_graph.json"])
    doc["nodes"][0]["inputs"] = ["x", "W9"]
    doc["outputs"] = ["nope"]
    with pytest.raises(SpecError) as caught:
        load(doc)
    assert [p.code for p in caught.value.problems] == ["NN202"]  # later stages wait
    doc["nodes"][0]["inputs"] = ["x", "W1"]
    with pytest.raises(SpecError) as caught:
        load(doc)
    assert [(p.code, p.pointer) for p in caught.value.problems] == [("NN207", "/outputs/0")]


def test_problems_from_a_dict_have_pointers_but_no_lines() -> None:
    doc = copy.deepcopy(DOCS["xor.json"])
    doc["nodes"][1]["units"] = "1"
    [problem] = validate(doc)
    assert (problem.code, problem.pointer, problem.line) == ("NN104", "/nodes/1/units", None)


def test_nodes_without_ids_get_unique_generated_ids() -> None:
    doc = {
        "nnspec": "1",
        "inputs": {"x": {"shape": ["batch", 2]}},
        "nodes": [{"op": "relu"}, {"id": "relu_1", "op": "tanh"}, {"op": "relu"}],
    }
    ids = [node.id for node in load(doc).nodes]
    assert len(set(ids)) == len(ids) == 3


# --- mutations -----------------------------------------------------------------


def _paths(value: Any, path: tuple = ()) -> list[tuple]:
    """Every path into `value` (keys and indexes), the root first."""
    found = [path]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*path, index))
    return found


def _set(doc: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    parent = doc
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = value
    return doc


def _get(doc: Any, path: tuple) -> Any:
    for step in path:
        doc = doc[step]
    return doc


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)


@st.composite
def mutated_documents(draw: st.DrawFn) -> Any:
    """An example document with one structural mutation."""
    doc = copy.deepcopy(DOCS[draw(st.sampled_from(sorted(DOCS)))])
    paths = _paths(doc)
    path = draw(st.sampled_from(paths))
    kind = draw(st.sampled_from(["drop", "retype", "rename", "swap"]))
    if kind == "drop" and path:
        parent = _get(doc, path[:-1])
        del parent[path[-1]]
    elif kind == "rename" and isinstance(_get(doc, path), str):
        old = _get(doc, path)
        _set(doc, path, draw(st.sampled_from([old[:-1], old + "x", old.upper(), "x", "hidden.W"])))
    elif kind == "swap":  # a value from elsewhere in the document: plausible but misplaced
        _set(doc, path, copy.deepcopy(_get(doc, draw(st.sampled_from(paths)))))
    else:
        _set(doc, path, draw(JSON_VALUES))
    return doc


@st.composite
def mutated_texts(draw: st.DrawFn) -> str:
    """A mutated document as text, sometimes with garbage inserted into the text."""
    text = json.dumps(draw(mutated_documents()), indent=2)
    if draw(st.booleans()):
        at = draw(st.integers(0, len(text)))
        garbage = draw(st.sampled_from(["", ",", "}", "]", '"', "NaN", "//", "\ufeff", "\x00"]))
        text = text[:at] + garbage + draw(st.text(max_size=3)) + text[at:]
    return text


@given(mutated_texts())
def test_mutated_text_gives_located_problems_or_validates(text: str) -> None:
    for problem in validate(text):
        assert problem.code in CODES
        assert problem.line is not None and problem.column is not None, problem


@given(mutated_documents())
def test_mutated_dict_gives_coded_problems_or_validates(doc: Any) -> None:
    for problem in validate(doc):
        assert problem.code in CODES
        assert problem.message
        assert problem.pointer == "" or problem.pointer.startswith("/"), problem  # RFC 6901


@given(mutated_texts())
def test_validate_command_never_crashes(
    tmp_path_factory: pytest.TempPathFactory, text: str
) -> None:
    path = tmp_path_factory.mktemp("mutant") / "doc.json"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    assert main(["validate", "--format", "json", str(path)]) in (0, 1)


@given(mutated_documents())
def test_fast_schema_check_agrees_with_jsonschema(doc: Any) -> None:
    full = schema()
    fast = compile_schema(full, full["$defs"])
    assert fast(doc) == StrictValidator(full).is_valid(doc)


def test_cross_entropy_on_sigmoid_or_softmax_output_is_computed_from_logits() -> None:
    examples = Path(__file__).resolve().parents[2] / "examples"
    for name, logits in (("xor", "prob.add"), ("softmax_classifier", "p.add")):
        loss = nnspec.load(examples / f"{name}.json").nodes[-1]
        assert loss.inputs[0] == logits
        assert dict(loss.attrs)["from_logits"] is True


def test_loss_on_a_plain_output_is_left_alone() -> None:
    doc = {
        "nnspec": "1",
        "inputs": {"x": {"shape": ["batch", 2]}},
        "nodes": [{"id": "p", "op": "dense", "units": 1, "activation": "tanh"}],
        "training": {"target": {"shape": ["batch", 1]}, "loss": "binary_cross_entropy"},
    }
    loss = nnspec.load(doc).nodes[-1]
    assert loss.inputs == ("p", "target")
    assert dict(loss.attrs)["from_logits"] is False


def test_a_missing_key_is_reported_even_when_a_known_key_looks_like_it() -> None:
    # "outputs" resembles "inputs"; it is a known key, so it is no misspelling of it.
    xor = Path(__file__).resolve().parents[2] / "examples" / "xor.json"
    doc = json.loads(xor.read_text())
    del doc["inputs"]
    problems = nnspec.validate(doc)
    assert [(p.code, p.message) for p in problems] == [
        ("NN103", "the document needs the key 'inputs'")
    ]


def test_a_node_without_op_is_reported_even_beside_a_key_like_op() -> None:
    # Found by the long hypothesis profile: "0op" looks like "op", but nodes are only
    # checked for unknown keys once their op is known, so "op" must be reported missing.
    xor = Path(__file__).resolve().parents[2] / "examples" / "xor.json"
    doc = json.loads(xor.read_text())
    doc["nodes"][0]["0op"] = doc["nodes"][0].pop("op")
    assert [(p.code, p.pointer) for p in nnspec.validate(doc)] == [("NN103", "/nodes/0")]


def _big_document(nodes: int, typo: str) -> dict:
    doc: dict = {
        "nnspec": "1",
        "inputs": {"x": {"shape": ["batch", 2]}},
        "params": {"W": {"value": [[0.5] * 10 for _ in range(nodes // 10)]}},
        "nodes": [{"id": f"n{i}", "op": "tanh"} for i in range(nodes)],
    }
    if typo == "node":
        doc["nodes"][nodes // 2]["unit"] = 3
    elif typo == "top":
        doc["ouputs"] = ["n1"]
    elif typo == "param":
        doc["params"]["W"]["trainabel"] = False
    elif typo == "literal":
        doc["params"]["W"]["value"][3][5] = "x"
    return doc


@pytest.mark.parametrize("typo", ["node", "top", "param", "literal"])
def test_reporting_one_typo_costs_the_same_in_any_size_of_document(
    typo: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """jsonschema (slow, but it writes the messages) sees only the failing part: the
    number of schema descents it makes does not grow with the document."""
    descents: list[int] = []
    original = StrictValidator.descend

    def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
        descents[-1] += 1
        return original(self, *args, **kwargs)

    monkeypatch.setattr(StrictValidator, "descend", counting)
    found = []
    for size in (200, 4000):
        descents.append(0)
        found.append([p.code for p in nnspec.validate(_big_document(size, typo)) if p.is_error])
    assert found[0] == found[1] and len(found[0]) == 1
    assert descents[0] == descents[1] < 50
