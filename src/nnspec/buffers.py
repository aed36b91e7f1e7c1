"""The buffer plan: where a forward pass may write results instead of allocating them.

Sits beside `nnspec.autodiff`, below both engines, and is decided once per node list
in IR terms. The interpreter (`interpreter.plan`) binds it to slots and kernels; the
code generator (`codegen.emit`) prints it as ``out=`` arguments and a workspace. So
the two engines write into the same places, and both compute exactly what the op
definitions compute: a ufunc writing into ``out=`` runs the same loop as one that
allocates, and a matrix product into a reused buffer is the same BLAS call.

- A value is *owned* when the plan alone can see its memory: its op returns a fresh
  array (not a view), every reader does too (so no view of it exists), and its type
  has no unknown dim (its array's shape is the type's).
- `BufferPlan.into`: an elementwise op (`OpDef.inplace`) writes its result over an
  owned input that dies at this node (this is its last reader, and nothing outside
  the forward pass — an output, a value the reverse pass reads — needs it), read once
  by the node and of exactly the result's type.
- `BufferPlan.workspace`: a product (`OpDef.reuse_buffer`) writes into a buffer that
  lives across calls (one per thread and input sizes) when its result, and every
  result written over it in place, is owned and never needed outside the pass.
- A training step (``step=True``) plans its forward pass differently: the values the
  reverse pass reads must survive the forward pass, but they need not survive the
  step. So a kept value (and an output) may live in the workspace too, and besides the
  products every owned elementwise result (`OpDef.inplace`, no attributes, at most two
  inputs) that is not written over an input gets a buffer of its own: ``np.maximum(x,
  0, out=buf)`` computes exactly ``np.maximum(x, 0)`` — and lays it out alike only
  when the allocated result would be C-ordered too, so only results whose operands
  are C-ordered whatever the caller passes get one (`c_ordered`: params, products,
  elementwise results of those). A Fortran-ordered input or a transposed value keeps
  allocating: written into a C-ordered buffer, its later sums and products would add
  in another order than the compiled module's. What a step returns then lives
  in memory the next step of the same thread (and the same input sizes) overwrites.
  In-place writes (`BufferPlan.into`) stay as they are: a kept value is never
  written over.
- `rank_matched`: which params a broadcasting ufunc reads through a view of its own
  rank (a ``(1, N)`` view of an ``(N,)`` bias), made once: the same numbers, a cheaper
  NumPy loop on one row.
- `Workspace`: those buffers' shapes in terms of the inputs' symbolic sizes, so that
  one call fetches all of them with one lookup keyed by the sizes (`symbol_axes`:
  where each size is read, its first occurrence among the inputs).

The reverse pass of a training step has its own plan (`gradient_buffers`): each
trainable param whose gradient comes from one VJP result gets a buffer of its own
(its shape; one per thread, made on the first step and reused by every later one),
written by the call that makes the gradient: the product itself when the op can
write that input's gradient into a buffer (`OpDef.vjp_buffered`, matmul's
``np.matmul(a.T, dy, out=)``) and the result has the param's shape, else the sum that
un-broadcasts it when that is one sum over the leading axes (a bias:
``dy.sum(axis=(0,), out=)``); other gradients stay fresh arrays, and a param reached
twice (fan-out) keeps the plain sum of fresh arrays. A buffer belongs to one param, so nothing that
writes it (the product, the sum) can change another value's gradient; an add's VJP
handing one array to two consumers stays a shared reference no one writes into.
The cotangents of values, too (`cotangent_buffers`): one a matmul VJP's product makes
alone goes into a step buffer of the workspace (``np.matmul(dy, W.T, out=)``), and a
ReLU or tanh VJP writes over its own cotangent where one fresh VJP result made it
and nothing reads it after (`OpDef.vjp_into`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from nnspec.autodiff import GradientPlan
from nnspec.ir import Dim, Node, TensorType
from nnspec.ops import REGISTRY

INPLACE = frozenset(name for name, op in REGISTRY.items() if op.inplace is not None)
"""Ops whose forward is one ufunc-like call that accepts ``out=`` (`OpDef.inplace`)."""

FRESH = frozenset(name for name, op in REGISTRY.items() if not op.view)
"""Ops whose forward returns a new array that aliases none of its inputs (for inputs of
rank >= 1). Reshape and transpose return views, so they are not here."""


@dataclass(frozen=True)
class BufferPlan:
    """Where each node of one forward pass writes its result (node ids and value names)."""

    into: Mapping[str, str]
    """node id -> the input whose memory the node's result overwrites."""
    workspace: tuple[str, ...]
    """Nodes (in node order) whose result lives in a buffer reused across calls."""


def buffer_plan(
    nodes: Sequence[Node], keep: Iterable[str], step: bool = False, params: Iterable[str] = ()
) -> BufferPlan:
    """The buffer plan of `nodes` (in order); values in `keep` must survive the pass.

    `step`: the pass is a training step's forward, whose workspace lives until the
    step ends, so values in `keep` may be in it (see the module docstring); `params`:
    the values stored C-ordered (the graph's params), whose elementwise results may
    then be written into a step buffer."""
    kept = set(keep)
    last: dict[str, int] = {}
    readers: dict[str, list[Node]] = {}
    for k, node in enumerate(nodes):
        for name in node.inputs:
            last[name] = k
            readers.setdefault(name, []).append(node)
    owned = {
        n.id: n
        for n in nodes
        if n.op in FRESH
        and n.type.rank >= 1
        and None not in n.type.shape
        and all(r.op in FRESH for r in readers.get(n.id, ()))
    }
    into: dict[str, str] = {}
    for k, node in enumerate(nodes):
        if node.op not in INPLACE or node.attrs or len(node.inputs) > 2:
            continue
        for name in node.inputs:
            producer = owned.get(name)
            if (
                producer is not None
                and last[name] == k
                and name not in kept
                and node.inputs.count(name) == 1
                and producer.type == node.type
            ):
                into[node.id] = name
                break
    root: dict[str, str] = {}  # value -> the value whose memory it ends up in
    for node in nodes:
        root[node.id] = root[into[node.id]] if node.id in into else node.id
    sharing: dict[str, list[str]] = {}
    for name, r in root.items():
        sharing.setdefault(r, []).append(name)
    if step:
        ordered = c_ordered(nodes, params)
        workspace = tuple(
            n.id
            for n in nodes
            if n.id not in into
            and (REGISTRY[n.op].reuse_buffer or (_writes_out(n) and n.id in ordered))
            and all(v in owned for v in sharing[n.id])
        )
    else:
        workspace = tuple(
            n.id
            for n in nodes
            if REGISTRY[n.op].reuse_buffer
            and all(v in owned and v not in kept for v in sharing[n.id])
        )
    return BufferPlan(into=into, workspace=workspace)


def c_ordered(nodes: Sequence[Node], params: Iterable[str]) -> set[str]:
    """The values whose arrays are C-ordered whatever layout the caller's inputs have:
    `params` (stored C-ordered), every value of rank 0 or 1, matrix products of rank 2
    (``np.matmul`` allocates those C-ordered) and products and elementwise results
    whose operands are all such values (NumPy allocates those C-ordered too). Graph
    inputs and views may be in any order, and so may a batched product of them: with
    two or more batch axes ``np.matmul`` lays its result out like its operand."""
    ordered = set(params)
    for n in nodes:
        of_ordered = all(name in ordered for name in n.inputs)
        product = REGISTRY[n.op].reuse_buffer and (n.type.rank <= 2 or of_ordered)
        if n.type.rank <= 1 or product or (n.op in INPLACE and of_ordered):
            ordered.add(n.id)
    return ordered


def _writes_out(node: Node) -> bool:
    """Whether `node` is one ufunc-like call that can write into any ``out=`` buffer
    of its type (the same calls `BufferPlan.into` makes over an input)."""
    return node.op in INPLACE and not node.attrs and len(node.inputs) <= 2


@dataclass(frozen=True)
class Workspace:
    """The buffers one forward pass keeps across calls: buffer k holds the result of
    node `nodes[k]`, of shape `shapes[k]` (fixed dims, and symbols that are entries of
    `symbols`: the key a call looks its buffers up by) and dtype `dtypes[k]`; after
    those, a training step's reverse pass has one for each of `cotangents`, the values
    whose cotangent it writes there (`cotangent_buffers`)."""

    nodes: tuple[str, ...]
    shapes: tuple[tuple[Dim, ...], ...]
    dtypes: tuple[str, ...]
    symbols: tuple[str, ...]
    cotangents: tuple[str, ...] = ()

    def with_cotangents(self, values: Iterable[str], types: Mapping[str, TensorType]) -> Workspace:
        """This workspace and a buffer of each value's type for the value's cotangent."""
        found = tuple(values)
        return replace(
            self,
            shapes=(*self.shapes, *(types[v].shape for v in found)),
            dtypes=(*self.dtypes, *(types[v].dtype for v in found)),
            cotangents=(*self.cotangents, *found),
        )


def workspace(
    nodes: Sequence[Node],
    keep: Iterable[str],
    symbols: Iterable[str],
    step: bool = False,
    params: Iterable[str] = (),
) -> Workspace:
    """The `BufferPlan.workspace` nodes of `nodes` whose shapes `symbols` (the inputs'
    symbolic dims) fix; a node with any other symbol keeps allocating its result.
    `step`, `params`: a training step's, and its C-ordered values (`buffer_plan`)."""
    known = tuple(symbols)
    by_id = {n.id: n for n in nodes}
    chosen = [
        by_id[name]
        for name in buffer_plan(nodes, keep, step, params).workspace
        if all(isinstance(d, int) or d in known for d in by_id[name].type.shape)
    ]
    return Workspace(
        nodes=tuple(n.id for n in chosen),
        shapes=tuple(n.type.shape for n in chosen),
        dtypes=tuple(n.type.dtype for n in chosen),
        symbols=known,
    )


def symbol_axes(inputs: Sequence[tuple[str, TensorType]]) -> dict[str, tuple[str, int]]:
    """Each symbolic dim of `inputs` ((name, type) in order) -> (input, axis) of its
    first occurrence (in input order, then axis order): where a call reads its size."""
    first: dict[str, tuple[str, int]] = {}
    for name, t in inputs:
        for axis, dim in enumerate(t.shape):
            if isinstance(dim, str):
                first.setdefault(dim, (name, axis))
    return first


@dataclass(frozen=True)
class GradientBuffers:
    """Which VJP results the reverse pass writes into a param's gradient buffer, by
    (node id, input position) -> param name."""

    product: Mapping[tuple[str, int], str]
    """The VJP writes this input's gradient itself (`OpDef.vjp_buffered`)."""
    summed: Mapping[tuple[str, int], str]
    """The un-broadcast sum of this input's gradient writes it."""


def gradient_buffers(reverse: GradientPlan, types: Mapping[str, TensorType]) -> GradientBuffers:
    """The gradient buffer plan of `reverse` for the params among its sources.

    `types` holds every value's type (`Graph.types`); every source whose type has
    only known dims gets a buffer (every param; an input asked for its gradient too).
    """
    found: dict[str, list[tuple[Node, int]]] = {}
    for step in reverse.steps:
        for k, (name, want) in enumerate(zip(step.node.inputs, step.wants, strict=True)):
            if want and name in reverse.sources:
                found.setdefault(name, []).append((step.node, k))
    product: dict[tuple[str, int], str] = {}
    summed: dict[tuple[str, int], str] = {}
    for name, uses in found.items():
        shape = types[name].shape
        if len(uses) != 1 or not all(isinstance(d, int) for d in shape):
            continue
        node, k = uses[0]
        op = REGISTRY[node.op]
        grad = op.grad_shapes(node.type, tuple(types[x] for x in node.inputs))[k]
        if grad == shape:
            if op.vjp_buffered:
                product[(node.id, k)] = name
        elif grad is not None and len(grad) > len(shape) and 1 not in shape:
            # un-broadcasting it is one sum over the leading axes NumPy added
            summed[(node.id, k)] = name
    return GradientBuffers(product=product, summed=summed)


@dataclass(frozen=True)
class CotangentBuffers:
    """Where a training step's reverse pass writes cotangents instead of allocating them.

    Both engines follow it: the interpreter's reverse plan (`interpreter.plan`) and
    the compiled module's ``_gradients`` (`codegen.train`)."""

    steps: Mapping[tuple[str, int], str]
    """(node id, input position) -> value, in step order: the VJP's product makes the
    value's whole cotangent by itself (`OpDef.vjp_buffered`, not a param's gradient
    buffer), written into a step buffer of the value's type, reused by the next step."""
    into: frozenset[str]
    """Nodes whose VJP writes its input's gradient over the node's own cotangent
    (`OpDef.vjp_into`): that cotangent is owned (one VJP made it a fresh array,
    `OpDef.vjp_fresh`, no other value shares it) and dies there (it is nobody's
    returned gradient), and the gradient written over it is its input's whole
    cotangent, so ownership passes on with it."""


def cotangent_buffers(
    reverse: GradientPlan, types: Mapping[str, TensorType], symbols: Iterable[str]
) -> CotangentBuffers:
    """The cotangent plan of `reverse`; a step buffer only for a value whose shape the
    feeds' symbolic sizes `symbols` fix (the step workspace's key).

    A value's first contribution (in step order) is its whole cotangent when the VJP
    result has the value's shape (no un-broadcast sum follows); a later one is added
    to it, which makes a fresh array.
    """
    known = set(symbols)
    params = gradient_buffers(reverse, types).product
    seen, owned = {reverse.loss}, set()
    steps: dict[tuple[str, int], str] = {}
    into: set[str] = set()
    for step in reverse.steps:
        node = step.node
        op = REGISTRY[node.op]
        shapes = op.grad_shapes(node.type, tuple(types[x] for x in node.inputs))
        whole = [False] * len(node.inputs)
        for k, (x, want) in enumerate(zip(node.inputs, step.wants, strict=True)):
            if not want:
                continue
            shape = types[x].shape
            whole[k] = x not in seen and shapes[k] == shape and None not in shape
            seen.add(x)
            if not whole[k]:
                continue
            if op.vjp_fresh and types[x].rank >= 1:  # a 0-d result is a NumPy scalar
                owned.add(x)
            fixed = all(isinstance(d, int) or d in known for d in shape)
            if len(op.vjp_buffered) > k and (node.id, k) not in params and fixed:
                steps[(node.id, k)] = x
        if op.vjp_into and whole[0] and node.id in owned and node.id not in reverse.sources:
            into.add(node.id)
    return CotangentBuffers(steps=steps, into=frozenset(into))


def rank_matched(
    nodes: Iterable[Node], params: Mapping[str, TensorType]
) -> dict[tuple[str, int], tuple[str, tuple[int, ...]]]:
    """(node id, input index) -> (param, view shape) for every param a broadcasting
    binary ufunc (`OpDef.ufunc` of two inputs) reads at a lower rank than its result
    (rank >= 1, every dim known): both engines read a view of it with leading 1s.

    Bitwise the same: broadcasting prepends those 1s anyway and an elementwise ufunc
    computes each element alone; only NumPy's loop setup differs (measured: a
    ``(1, 256) + (1, 256)`` add 0.29 us, ``(1, 256) + (256,)`` 0.60 us; from 4 rows on
    both within 3 %)."""
    found: dict[tuple[str, int], tuple[str, tuple[int, ...]]] = {}
    for node in nodes:
        ufunc = REGISTRY[node.op].ufunc
        if ufunc is None or ufunc.nin != 2 or len(node.inputs) != 2:
            continue
        for k, name in enumerate(node.inputs):
            t = params.get(name)
            if t is None or not 1 <= t.rank < node.type.rank:
                continue
            dims = tuple(d for d in t.shape if isinstance(d, int))
            if len(dims) == t.rank:
                found[(node.id, k)] = (name, (1,) * (node.type.rank - t.rank) + dims)
    return found
