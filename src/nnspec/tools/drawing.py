"""``nnspec graph``: the computation graph as Graphviz DOT or Mermaid text.

Two layers, as in code generation: `plan` turns a `Graph` into a neutral `Drawing`
(generator-owned ids ``n0, n1, …``, label lines, clusters), then `to_dot` and
`to_mermaid` only format it. Document text (names, descriptions, ``x-`` keys) only
ever reaches the output through `dot_string` / `mermaid_string`, which make it
inert: a hostile name cannot end a string, open a block or inject a statement.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from nnspec.ir import Graph, Param
from nnspec.overview.layers import document_value, layers
from nnspec.printer import format_type


@dataclass(frozen=True)
class Vertex:
    """One box: `kind` is input, target, param, op or layer; `lines` its label."""

    key: str
    kind: str
    lines: tuple[str, ...]
    tooltip: str = ""
    output: bool = False


@dataclass(frozen=True)
class Cluster:
    """A composite layer drawn as a box around its primitives and params."""

    key: str
    title: str
    members: tuple[str, ...]
    tooltip: str = ""


@dataclass
class Drawing:
    """What to draw, with every id chosen by the generator."""

    title: str
    tooltip: str
    vertices: list[Vertex] = field(default_factory=list)
    clusters: list[Cluster] = field(default_factory=list)
    edges: list[tuple[str, str]] = field(default_factory=list)


def plan(
    graph: Graph, document: Mapping[str, Any] | None = None, collapse: bool = False
) -> Drawing:
    """Vertices, clusters and edges for `graph`; `collapse` draws each composite as one box."""
    title = graph.name + (f": {graph.description}" if graph.description else "")
    drawing = Drawing(title=title, tooltip=_meta_text(graph.meta))
    key_of: dict[str, str] = {}  # value name -> vertex drawing it

    def add(kind: str, names: list[str], lines: tuple[str, ...], tooltip: str = "") -> str:
        key = f"n{len(drawing.vertices)}"
        output = any(name in graph.outputs for name in names)
        drawing.vertices.append(Vertex(key, kind, lines, tooltip, output))
        key_of.update(dict.fromkeys(names, key))
        return key

    rows = layers(graph)
    for layer in rows:
        tooltip = _node_text(document_value(document, layer.pointer))
        if layer.kind in ("input", "target"):
            add(layer.kind, [layer.id], (layer.id, format_type(layer.type)), tooltip)
        elif collapse and layer.kind == "composite":
            lines = (layer.id, f"{layer.op}, {layer.param_count:,} params", format_type(layer.type))
            add(
                "layer",
                [n.id for n in layer.nodes] + [p.name for p in layer.params],
                lines,
                tooltip,
            )
        else:
            members = [add("param", [p.name], _param_lines(p)) for p in layer.params]
            for node in layer.nodes:
                members.append(add("op", [node.id], (node.id, node.op, format_type(node.type))))
            if layer.kind == "composite":
                key = f"c{len(drawing.clusters)}"
                title = f"{layer.id}: {layer.op}"
                drawing.clusters.append(Cluster(key, title, tuple(members), tooltip))
    for param in graph.params:  # params no node reads
        if param.name not in key_of:
            add("param", [param.name], _param_lines(param))
    edges = (
        (key_of[name], key_of[node.id])
        for layer in rows
        for node in layer.nodes
        for name in node.inputs
    )
    drawing.edges = list(dict.fromkeys(edge for edge in edges if edge[0] != edge[1]))
    return drawing


def _param_lines(param: Param) -> tuple[str, ...]:
    kind = "param" if param.trainable else "const"
    return (param.name, f"{kind} {format_type(param.type)}")


def _meta_text(meta: Mapping[str, Any]) -> str:
    return "\n".join(f"{k}: {json.dumps(v, sort_keys=True)}" for k, v in sorted(meta.items()))


def _node_text(node: Any) -> str:
    """A document node's description and ``x-`` keys, for a tooltip."""
    if not isinstance(node, Mapping):
        return ""
    extra = {k: v for k, v in node.items() if isinstance(k, str) and k.startswith("x-")}
    description = node.get("description")
    head = [description] if isinstance(description, str) and description else []
    return "\n".join([*head, _meta_text(extra)]).strip("\n")


# --------------------------------------------------------------------------- escaping


def _clean(text: str) -> str:
    """Drop what no renderer should see: control characters (not newlines) and
    unpaired surrogates, which cannot even be written as UTF-8."""
    return "".join(
        "\ufffd" if ch != "\n" and unicodedata.category(ch) in ("Cc", "Cs") else ch
        for ch in text.replace("\r\n", "\n").replace("\r", "\n")
    )


def dot_string(text: str) -> str:
    """A DOT quoted string showing `text` literally.

    In DOT only ``\\"`` is an escape, and Graphviz reads ``\\\\"`` as a backslash
    followed by an escaped quote, so a backslash is never written as one: it becomes
    the character reference ``&#92;`` (``&`` becomes ``&amp;`` to keep references
    inert). Newlines become Graphviz's ``\\n`` line break.
    """
    body = (
        _clean(text)
        .replace("&", "&amp;")
        .replace("\\", "&#92;")
        .replace('"', '\\"')
        .replace("\n", "\\n")
    )
    return f'"{body}"'


_MERMAID_SAFE = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _.,:=+-[]()"
)


def mermaid_string(text: str) -> str:
    """A Mermaid quoted label showing `text` literally: everything outside a small
    safe set becomes an entity code ``#NNN;``, newlines become ``<br/>``."""
    lines = _clean(text).split("\n")
    encoded = (
        "".join(ch if ch in _MERMAID_SAFE else f"#{ord(ch)};" for ch in line) for line in lines
    )
    return '"' + "<br/>".join(encoded) + '"'


# --------------------------------------------------------------------------- formats

_DOT_SHAPES = {
    "input": 'shape=ellipse, style=filled, fillcolor="#dbeafe"',
    "target": 'shape=ellipse, style=filled, fillcolor="#fde68a"',
    "param": 'shape=box, style="filled", fillcolor="#f3f4f6", fontsize=9',
    "op": 'shape=box, style="rounded"',
    "layer": 'shape=box, style="rounded,filled", fillcolor="#e0e7ff"',
}


def to_dot(drawing: Drawing) -> str:
    """Graphviz DOT text, ending with a newline."""
    out = [
        "digraph nnspec {",
        f"  graph [rankdir=TB, labelloc=t, fontname=Helvetica, label={dot_string(drawing.title)}, "
        f"tooltip={dot_string(drawing.tooltip or drawing.title)}];",
        '  node [fontname="Helvetica", fontsize=11];',
        '  edge [color="#6b7280"];',
    ]
    in_cluster = {key for cluster in drawing.clusters for key in cluster.members}
    for vertex in drawing.vertices:
        if vertex.key not in in_cluster:
            out.append(f"  {_dot_vertex(vertex)}")
    by_key = {v.key: v for v in drawing.vertices}
    for cluster in drawing.clusters:
        out.append(f"  subgraph cluster_{cluster.key} {{")
        out.append(
            f"    graph [label={dot_string(cluster.title)}, "
            f'tooltip={dot_string(cluster.tooltip or cluster.title)}, style="rounded,dashed"];'
        )
        out += [f"    {_dot_vertex(by_key[key])}" for key in cluster.members]
        out.append("  }")
    out += [f"  {a} -> {b};" for a, b in drawing.edges]
    out.append("}")
    return "\n".join(out) + "\n"


def _dot_vertex(vertex: Vertex) -> str:
    extra = ", peripheries=2" if vertex.output else ""
    tooltip = f", tooltip={dot_string(vertex.tooltip)}" if vertex.tooltip else ""
    label = dot_string("\n".join(vertex.lines))
    return f"{vertex.key} [label={label}, {_DOT_SHAPES[vertex.kind]}{extra}{tooltip}];"


_MERMAID_SHAPES = {
    "input": ("([", "])"),
    "target": ("([", "])"),
    "param": ("[", "]"),
    "op": ("(", ")"),
    "layer": ("(", ")"),
}


def to_mermaid(drawing: Drawing) -> str:
    """Mermaid flowchart text, ending with a newline. Tooltips are left out (Mermaid
    ties them to click handlers); the title goes in the front matter as a JSON string,
    which YAML reads as a double-quoted scalar."""
    out = [
        "---",
        f"title: {json.dumps(drawing.title, ensure_ascii=True)}",
        "---",
        "flowchart TB",
    ]
    in_cluster = {key for cluster in drawing.clusters for key in cluster.members}
    by_key = {v.key: v for v in drawing.vertices}
    out += [f"  {_mermaid_vertex(v)}" for v in drawing.vertices if v.key not in in_cluster]
    for cluster in drawing.clusters:
        out.append(f"  subgraph {cluster.key} [{mermaid_string(cluster.title)}]")
        out += [f"    {_mermaid_vertex(by_key[key])}" for key in cluster.members]
        out.append("  end")
    out += [f"  {a} --> {b}" for a, b in drawing.edges]
    out += [
        "  classDef input fill:#dbeafe",
        "  classDef target fill:#fde68a",
        "  classDef param fill:#f3f4f6,font-size:10px",
        "  classDef layer fill:#e0e7ff",
        "  classDef output stroke-width:3px",
    ]
    for kind in ("input", "target", "param", "layer", "output"):
        keys = [
            v.key for v in drawing.vertices if (v.output if kind == "output" else v.kind == kind)
        ]
        if keys:
            out.append(f"  class {','.join(keys)} {kind}")
    return "\n".join(out) + "\n"


def _mermaid_vertex(vertex: Vertex) -> str:
    left, right = _MERMAID_SHAPES[vertex.kind]
    return f"{vertex.key}{left}{mermaid_string(chr(10).join(vertex.lines))}{right}"


FORMATS = {"dot": to_dot, "mermaid": to_mermaid}
"""Text formats by name, for the command line."""
