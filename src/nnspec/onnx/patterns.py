"""Rewrites of imported node lists that make the document read like a written one.

Each pass matches an exact pattern on the primitive nodes the converters emitted
and replaces it by what computes the same function:

- mul(x, sigmoid(x)) → silu(x): the same formula;
- matmul(x, W) [→ add b] → mul a → add c, the ops BatchNormalization became, →
  matmul(x, W·a) → add(b·a + c): the same function, W·a and b·a + c computed in
  float64 and rounded once;
- matmul(x, W) [→ add b] [→ activation] → dense: the very ops dense lowers to.

A pattern matches only where every intermediate value has one consumer and is
not a graph output, and the weights are params used nowhere else.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

import numpy as np

from nnspec.ops import REGISTRY


class Rewriter:
    """A node list with use counts; passes mutate it in place."""

    def __init__(
        self,
        nodes: list[dict[str, Any]],
        params: dict[str, np.ndarray],
        frozen: set[str],
        outputs: list[str],
    ):
        self.nodes = nodes
        self.params = params
        self.frozen = frozen
        self.outputs = outputs

    def uses(self) -> Counter:
        counts: Counter = Counter(self.outputs)
        for node in self.nodes:
            counts.update(node["inputs"])
        return counts

    def producers(self) -> dict[str, dict[str, Any]]:
        return {node["id"]: node for node in self.nodes}

    def single(self, name: str, uses: Counter) -> bool:
        """`name` feeds exactly one node and is not a graph output."""
        return uses[name] == 1 and name not in self.outputs

    def own_param(self, name: str, uses: Counter, rank: int) -> bool:
        return name in self.params and uses[name] == 1 and self.params[name].ndim == rank

    def remove(self, dropped: Iterable[dict[str, Any]]) -> None:
        gone = {id(n) for n in dropped}
        self.nodes[:] = [n for n in self.nodes if id(n) not in gone]

    def rename(self, old: str, new: str) -> None:
        for node in self.nodes:
            node["inputs"] = [new if i == old else i for i in node["inputs"]]
        self.outputs[:] = [new if o == old else o for o in self.outputs]


def fuse_silu(rw: Rewriter) -> None:
    uses, producer = rw.uses(), rw.producers()
    for node in list(rw.nodes):
        if node["op"] != "mul" or len(set(node["inputs"])) != 2:
            continue
        for gate, x in (node["inputs"], node["inputs"][::-1]):
            sig = producer.get(gate)
            if sig and sig["op"] == "sigmoid" and sig["inputs"] == [x] and rw.single(gate, uses):
                node.update(op="silu", inputs=[x])
                rw.remove([sig])
                uses = rw.uses()
                break


def fold_batchnorm(rw: Rewriter, batchnorm: set[str]) -> None:
    """Fold BatchNormalization's mul/add into the matmul (and bias add) before it, when
    the scale runs along the last axis (the features of XW)."""
    for scale in [n for n in rw.nodes if n["op"] == "mul" and n["id"] in batchnorm]:
        uses, producer = rw.uses(), rw.producers()
        shift = next((n for n in rw.nodes if n["inputs"][:1] == [scale["id"]]), None)
        if shift is None or shift["id"] not in batchnorm or not rw.single(scale["id"], uses):
            continue
        x, a_name = scale["inputs"]
        c_name = shift["inputs"][1]
        a, c = rw.params[a_name], rw.params[c_name]
        if a.ndim != 1 or uses[a_name] != 1 or uses[c_name] != 1:
            continue  # not a per-feature scale of the last axis
        bias_add = producer.get(x)
        matmul = bias_add
        bias = None
        if bias_add is not None and bias_add["op"] == "add" and rw.single(x, uses):
            bias = bias_add["inputs"][1]
            matmul = producer.get(bias_add["inputs"][0])
            if not (rw.own_param(bias, uses, 1) and rw.single(bias_add["inputs"][0], uses)):
                continue
        if (
            matmul is None
            or matmul["op"] != "matmul"
            or not rw.own_param(matmul["inputs"][1], uses, 2)
        ):
            continue
        w_name = matmul["inputs"][1]
        w = rw.params[w_name]
        rw.params[w_name] = (w.astype(np.float64) * a).astype(w.dtype)
        if bias is not None and bias_add is not None:
            b = rw.params[bias]
            rw.params[bias] = (b.astype(np.float64) * a + c).astype(b.dtype)
            rw.remove([scale, shift])
            bias_add["id"] = shift["id"]  # its old id fed only the removed scale
        else:
            shift["inputs"] = [matmul["id"], c_name]
            rw.remove([scale])
        rw.frozen.discard(c_name)
        for name in (a_name, *([c_name] if bias is not None else [])):
            rw.params.pop(name, None)


def recover_dense(rw: Rewriter) -> list[tuple[str, dict[str, str]]]:
    """matmul(x, W) [→ add(·, b)] [→ activation] becomes one dense node.

    Returns (dense id, {old param name: new param name}) for each layer made.
    """
    made = []
    for matmul in [n for n in rw.nodes if n["op"] == "matmul"]:
        uses, producer = rw.uses(), rw.producers()
        w = matmul["inputs"][1]
        if not rw.own_param(w, uses, 2) or matmul["inputs"][0] in rw.params:
            continue
        units = rw.params[w].shape[1]
        chain = [matmul]
        bias = None
        after = _consumer(rw, matmul["id"], uses)
        if after and after["op"] == "add" and after["inputs"][0] == matmul["id"]:
            b = after["inputs"][1]
            if rw.own_param(b, uses, 1) and rw.params[b].shape == (units,):
                bias = b
                chain.append(after)
                after = _consumer(rw, after["id"], uses)
        activation = None
        if after and after["inputs"] == [chain[-1]["id"]]:
            activation = _activation_setting(after)
            if activation is not None:
                chain.append(after)
        del producer
        layer = chain[-1]["id"]
        renames = {w: f"{layer}.W", **({bias: f"{layer}.b"} if bias else {})}
        if any(new in rw.params for new in renames.values()):
            continue
        dense: dict[str, Any] = {
            "id": layer,
            "op": "dense",
            "inputs": [matmul["inputs"][0]],
            "units": units,
        }
        if activation:
            dense["activation"] = activation
        if bias is None:
            dense["use_bias"] = False
        for old, new in renames.items():
            rw.params[new] = rw.params.pop(old)
            if old in rw.frozen:
                rw.frozen.discard(old)
                rw.frozen.add(new)
        position = rw.nodes.index(chain[0])
        rw.remove(chain)
        rw.nodes.insert(position, dense)
        made.append((layer, renames))
    return made


def _consumer(rw: Rewriter, name: str, uses: Counter) -> dict[str, Any] | None:
    if not rw.single(name, uses):
        return None
    return next(n for n in rw.nodes if name in n["inputs"])


def _activation_setting(node: dict[str, Any]) -> str | dict[str, Any] | None:
    """What a dense layer absorbing `node` writes as its "activation": the op's name when
    the node's attributes are the op's defaults, else the object form with the ones that
    differ (``{"op": "leaky_relu", "alpha": 0.2}``); None when `node` is no activation."""
    op = REGISTRY.get(node["op"])
    if op is None or not op.activation:
        return None
    attrs = {k: v for k, v in node.items() if k not in ("id", "op", "inputs")}
    if not attrs.keys() <= op.attrs.keys():
        return None
    defaults = op.defaults()
    changed = {k: v for k, v in attrs.items() if k not in defaults or defaults[k] != v}
    return {"op": node["op"], **changed} if changed else node["op"]


def drop_unused_params(rw: Rewriter) -> None:
    """Remove params folding left unused (a dense layer's own params stay)."""
    uses = rw.uses()
    layers = {n["id"] for n in rw.nodes if n["op"] == "dense"}
    for name in [p for p in rw.params if uses[p] == 0 and p.rpartition(".")[0] not in layers]:
        del rw.params[name]
        rw.frozen.discard(name)
