"""DOT and Mermaid drawing: structure, clusters, collapse, and hostile text kept inert."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nnspec.spec.load import load
from nnspec.tools.drawing import mermaid_string, plan, to_dot, to_mermaid

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def dot_tokens(text: str) -> list[tuple[str, str]]:
    """Tokenize DOT the way Graphviz's lexer does.

    Inside a quoted string only ``\\"`` is an escape, and it wins even after another
    backslash (so ``\\\\"`` does not end a string). No comments are expected; any
    character that is not part of a token fails the test.
    """
    tokens, i = [], 0
    while i < len(text):
        char = text[i]
        if char.isspace():
            i += 1
        elif char == '"':
            j, body = i + 1, []
            while True:
                if j >= len(text):
                    raise AssertionError("unterminated string")
                if text.startswith('\\"', j):
                    body.append('"')
                    j += 2
                elif text[j] == '"':
                    break
                else:
                    assert text[j] != "\n", "raw newline inside a string"
                    body.append(text[j])
                    j += 1
            tokens.append(("str", "".join(body)))
            i = j + 1
        elif text.startswith("->", i):
            tokens.append(("edge", "->"))
            i += 2
        elif char in "{}[];,=":
            tokens.append(("punct", char))
            i += 1
        else:
            match = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|-?[0-9]+(?:\.[0-9]*)?").match(text, i)
            assert match, f"unexpected character {char!r} at {i}"
            tokens.append(("id", match.group()))
            i = match.end()
    return tokens


def check_dot(text: str) -> list[tuple[str, str]]:
    """The DOT parses as one digraph with balanced braces and brackets."""
    tokens = dot_tokens(text)
    assert tokens[:3] == [("id", "digraph"), ("id", "nnspec"), ("punct", "{")]
    depth = {"{": 0, "[": 0}
    closing = {"}": "{", "]": "["}
    for position, (kind, value) in enumerate(tokens):
        if kind != "punct":
            continue
        if value in depth:
            depth[value] += 1
        elif value in closing:
            depth[closing[value]] -= 1
            assert depth[closing[value]] >= 0
            if value == "}" and depth["{"] == 0:
                assert position == len(tokens) - 1, "text after the closing brace"
    assert depth == {"{": 0, "[": 0}
    return tokens


def graph_label(tokens: list[tuple[str, str]]) -> str:
    """The displayed text of the first ``label=`` (the graph's title)."""
    at = tokens.index(("id", "label"))
    assert tokens[at + 1] == ("punct", "=") and tokens[at + 2][0] == "str"
    return shown(tokens[at + 2][1])


def visible(text: str) -> str:
    """What a label may show of `text`: line ends unified, control characters and
    unpaired surrogates replaced."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(
        "\ufffd" if c != "\n" and unicodedata.category(c) in ("Cc", "Cs") else c for c in text
    )


def shown(label: str) -> str:
    """What Graphviz displays for a label string body (after the lexer): our \\n is a
    line break, character references are decoded."""
    return html.unescape(label.replace("\\n", "\n"))


_LABEL = r'"(?:[A-Za-z0-9 _.,:=+\-\[\]()]|#\d+;|<br/>)*"'
_MERMAID_LINES = [
    r"---",
    r"title: .*",
    r"flowchart TB",
    rf"  (  )?n\d+(\(\[{_LABEL}\]\)|\[{_LABEL}\]|\({_LABEL}\))",
    rf"  subgraph c\d+ \[{_LABEL}\]",
    r"  end",
    r"  n\d+ --> n\d+",
    r"  classDef \w+ [\w:#,\-]+",
    r"  class [n\d,]+ \w+",
]


def check_mermaid(text: str, title: str) -> None:
    lines = text.splitlines()
    assert lines[0] == "---" and lines[2] == "---"
    assert json.loads(lines[1].removeprefix("title: ")) == title
    for line in lines:
        assert any(re.fullmatch(p, line) for p in _MERMAID_LINES), line


def test_clusters_hold_composite_primitives_and_params() -> None:
    drawing = plan(load(EXAMPLES / "maxout.json"))
    labels = {v.key: v.lines[0] for v in drawing.vertices}
    clusters = {c.title: {labels[k] for k in c.members} for c in drawing.clusters}
    assert clusters["hidden: maxout"] == {
        "hidden.W",
        "hidden.b",
        "hidden.matmul",
        "hidden.add",
        "hidden.reshape",
        "hidden",
    }
    output = [v.lines[0] for v in drawing.vertices if v.output]
    assert output == ["prob"]
    check_dot(to_dot(drawing))


def test_collapse_hides_primitives_and_names_composite_ops() -> None:
    path = EXAMPLES / "maxout.json"
    document = json.loads(path.read_text())
    drawing = plan(load(path), document, collapse=True)
    assert drawing.clusters == []
    lines = {v.lines[0]: v.lines for v in drawing.vertices}
    assert lines["hidden"][1] == "maxout, 72 params"
    assert "hidden.matmul" not in lines and "hidden.W" not in lines
    keys = {v.lines[0]: v.key for v in drawing.vertices}
    assert (keys["x"], keys["hidden"]) in drawing.edges
    assert (keys["hidden"], keys["prob"]) in drawing.edges


def test_free_params_and_explicit_graph() -> None:
    drawing = plan(load(EXAMPLES / "explicit_graph.json"))
    keys = {v.lines[0]: v.key for v in drawing.vertices}
    assert (keys["W1"], keys["xw"]) in drawing.edges
    assert drawing.clusters == []
    check_mermaid(to_mermaid(drawing), drawing.title)


hostile = st.text(
    st.characters(codec="utf-8") | st.sampled_from([*'"\\{}[];<>#&%\n\r-*/`|', "\ud800", "\x00"]),
    max_size=30,
)
ids = st.from_regex(r"[A-Za-z_][A-Za-z0-9_.\-]{0,8}", fullmatch=True)


@settings(max_examples=60)
@given(name=hostile, description=hostile, meta=hostile, node_id=ids, input_id=ids)
def test_hostile_text_cannot_break_dot_or_mermaid(
    name: str, description: str, meta: str, node_id: str, input_id: str
) -> None:
    if node_id == input_id:
        node_id += "_"
    document: dict[str, Any] = {
        "nnspec": "1",
        "name": name,
        "description": description,
        f"x-{meta}": meta,
        "inputs": {input_id: {"shape": ["batch", 2], "description": description}},
        "nodes": [{"id": node_id, "op": "dense", "units": 2, "description": meta, "x-note": name}],
    }
    graph = load(document)
    for collapse in (False, True):
        drawing = plan(graph, document, collapse=collapse)
        tokens = check_dot(to_dot(drawing))
        assert graph_label(tokens) == visible(drawing.title)
        check_mermaid(to_mermaid(drawing), drawing.title)


def test_dot_label_shows_text_literally() -> None:
    tokens = check_dot(
        to_dot(
            plan(
                load(
                    {
                        "nnspec": "1",
                        "name": 'a\\"b\\',
                        "description": "&lt;x&gt;\nnext",
                        "inputs": {"x": {"shape": ["batch", 2]}},
                        "nodes": [{"id": "y", "op": "dense", "units": 1}],
                    }
                )
            )
        )
    )
    assert graph_label(tokens) == 'a\\"b\\: &lt;x&gt;\nnext'


def test_mermaid_string_encodes_everything_risky() -> None:
    assert mermaid_string('a"b<br/>\nc;#') == '"a#34;b#60;br#47;#62;<br/>c#59;#35;"'


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz dot is not installed")
@settings(max_examples=15)
@given(name=hostile, description=hostile)
def test_graphviz_accepts_hostile_documents(name: str, description: str) -> None:
    document = {
        "nnspec": "1",
        "name": name,
        "description": description,
        "inputs": {"x": {"shape": ["batch", 2]}},
        "nodes": [{"id": "h", "op": "dense", "units": 2, "description": description}],
    }
    text = to_dot(plan(load(document), document))
    done = subprocess.run(["dot", "-Tsvg"], input=text.encode(), capture_output=True, check=False)
    assert done.returncode == 0, done.stderr.decode()
