"""Elementwise ops: the lecture's activation functions and friends.

Each forward keeps the input dtype (attribute constants are Python floats, which
NumPy treats as weak scalars) and is written to be stable for large |x|.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from nnspec.ir import TensorType
from nnspec.ops.base import OnnxMapping, OpDef, TrainingRule, gap_to_zero, require_float, smallest

GELU_C = math.sqrt(2.0 / math.pi)
GELU_K = 0.044715
TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
ERF_SWITCH = 2.0  # below: the positive power series; from here on: erfc's continued fraction
ERF_TERMS = 60  # of each; enough for float64 on either side of the switch


def _same_type(op: str) -> Callable[..., TensorType]:
    def shape(types: tuple[TensorType, ...], **attrs: Any) -> TensorType:
        require_float(op, types[0])
        return types[0]

    return shape


def unary(
    name: str,
    doc: str,
    forward: Callable[..., Any],
    vjp: Callable[..., tuple] | None,
    *,
    attrs: Mapping[str, Mapping[str, Any]] | None = None,
    **facts: Any,
) -> OpDef:
    """An elementwise op; every one is usable as a dense layer's activation.

    `facts` are further `OpDef` fields. A bare-ufunc forward is recorded as the
    op's `ufunc`, so both engines may run it with ``out=``.
    """
    if isinstance(forward, np.ufunc):
        facts.setdefault("ufunc", forward)
    return OpDef(
        name=name,
        family="elementwise",
        doc=doc,
        inputs=("x",),
        shape=_same_type(name),
        forward=forward,
        vjp=vjp,
        attrs=attrs or {},
        activation=True,
        **facts,
    )


def sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-x) without overflow: exp only ever sees -|x|."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def softplus(x: np.ndarray) -> np.ndarray:
    """log(1 + e^x) = max(x, 0) + log1p(e^-|x|), finite for every finite x."""
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def gelu(x: np.ndarray) -> np.ndarray:
    inner = GELU_C * (x + GELU_K * x * x * x)
    return 0.5 * x * (1.0 + np.tanh(inner))


def erf(x: np.ndarray) -> np.ndarray:
    """The error function (NumPy has none), within 8 float64 ulp of `math.erf`.

    Computed in float64 on |x| and given x's sign: below `ERF_SWITCH` the series
    erf a = 2a/√π · e^(−a²) · Σ (2a²)^n / (1·3···(2n+1)), whose terms are all positive
    (no cancellation), summed innermost first; from there on 1 − erfc a with erfc from
    its continued fraction. e^(−a²) is e^(−h²)·e^(−(2hl + l²)) with a = h + l and h
    float32-short, so h² is exact. Past |x| = 6, erf x rounds to ±1.
    """
    a = np.minimum(np.abs(np.asarray(x, dtype=np.float64)), 6.0)
    hi = a.astype(np.float32).astype(np.float64)
    lo = a - hi
    gauss = np.exp(-hi * hi) * np.exp(-(2.0 * hi * lo + lo * lo))
    ratio = 2.0 * a * a
    total = np.ones_like(a)
    for n in range(ERF_TERMS, 0, -1):
        total = 1.0 + total * (ratio / (2 * n + 1))
    series = TWO_OVER_SQRT_PI * a * gauss * total
    far = np.maximum(a, ERF_SWITCH)
    fraction = far
    for k in range(ERF_TERMS, 0, -1):
        fraction = far + (0.5 * k) / fraction
    tail = 1.0 - 0.5 * TWO_OVER_SQRT_PI * gauss / fraction
    y = np.where(a < ERF_SWITCH, series, tail)
    return np.copysign(y, x).astype(np.result_type(x, np.float32))


def _gelu_vjp(dy: np.ndarray, x: np.ndarray, *, out: np.ndarray) -> tuple:
    t = np.tanh(GELU_C * (x + GELU_K * x * x * x))
    dinner = GELU_C * (1.0 + 3.0 * GELU_K * x * x)
    return (dy * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * dinner),)


def _silu_vjp(dy: np.ndarray, x: np.ndarray, *, out: np.ndarray) -> tuple:
    s = sigmoid(x)
    return (dy * (s + x * s * (1.0 - s)),)


def _elu(x: np.ndarray, *, alpha: float = 1.0) -> np.ndarray:
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))


def _leaky_relu(x: np.ndarray, *, alpha: float = 0.1) -> np.ndarray:
    return np.where(x > 0, x, alpha * x)


ALPHA_LEAKY = {
    "type": "number",
    "default": 0.1,
    "minimum": 0,
    "description": "slope for x < 0 (the lecture's max(0.1x, x) is alpha = 0.1)",
}
ALPHA_ELU = {
    "type": "number",
    "default": 1.0,
    "minimum": 0,
    "description": "scale of the negative part",
}

ALPHA_SAMPLES = {"alpha": (0.1, 0.5, 1.0)}


def _hard_sigmoid(x: np.ndarray, *, alpha: float = 0.2, beta: float = 0.5) -> np.ndarray:
    return np.clip(alpha * x + beta, 0.0, 1.0)


def _hard_sigmoid_vjp(dy, x, *, out, alpha: float = 0.2, beta: float = 0.5) -> tuple:
    """alpha inside the linear part 0 < y < 1, zero where y is clipped (and at the kinks)."""
    return (dy * np.where((out > 0) & (out < 1), alpha, 0.0).astype(out.dtype),)


def _hard_sigmoid_kinks(x: np.ndarray, *, alpha: float = 0.2, beta: float = 0.5) -> float:
    """Distance in x from the two kinks, where alpha·x + beta is 0 or 1."""
    if alpha == 0:
        return np.inf
    z = alpha * x + beta
    return min(gap_to_zero(z), gap_to_zero(z - 1.0)) / abs(alpha)


def dropout_noise(x: np.ndarray, rng: np.random.Generator, *, rate: float = 0.5, **_: Any) -> Any:
    """Dropout's mask with inverted scaling: 1/(1 - rate) where kept, 0 where dropped.

    One float64 uniform draw per element, kept when >= rate (probability 1 - rate);
    the draws do not depend on x's dtype, so a float64 twin drops the same entries.
    The mean of the noise is 1, so the expected training output is the inference one.
    """
    keep = rng.random(np.shape(x)) >= rate
    return np.where(keep, x.dtype.type(1.0 / (1.0 - rate)), x.dtype.type(0.0))


DROPOUT_ATTRS: dict[str, dict[str, Any]] = {
    "rate": {
        "type": "number",
        "default": 0.5,
        "minimum": 0,
        "exclusiveMaximum": 1,
        "description": "share of the values zeroed while training (kept ones scale by "
        "1/(1 - rate)); inference is the identity",
    },
    "seed": {
        "anyOf": [{"type": "null"}, {"type": "integer", "minimum": 0}],
        "default": None,
        "description": "seed of this node's masks; null: the run's (training) seed",
    },
}

DROPOUT = OpDef(
    name="dropout",
    family="elementwise",
    doc="y = x at inference; while training, each value is zeroed with probability rate "
    "and the rest are scaled by 1/(1 - rate) (a fresh seeded mask every step)",
    inputs=("x",),
    shape=_same_type("dropout"),
    forward=lambda x, **attrs: x.copy(),
    vjp=lambda dy, x, *, out, **attrs: (dy,),
    attrs=DROPOUT_ATTRS,
    vjp_reads="shapes",
    training=TrainingRule(
        noise=dropout_noise,
        apply=lambda x, noise, **attrs: x * noise,
        vjp=lambda dy, x, noise, *, out, **attrs: (dy * noise, None),
        helpers=("dropout_noise",),
    ),
    onnx=OnnxMapping("Dropout", rule="ratio_input"),
    bound=lambda m: 2.0 * m,  # while training, with the sampled rates (<= 0.5)
    samples={"rate": (0.0, 0.25, 0.5)},
)

OPS = (
    unary(
        "identity",
        "y = x",
        lambda x: x.copy(),
        lambda dy, x, *, out: (dy,),
        vjp_reads="shapes",
        onnx=OnnxMapping("Identity"),
    ),
    unary(
        "neg",
        "y = -x",
        np.negative,
        lambda dy, x, *, out: (-dy,),
        vjp_reads="shapes",
        onnx=OnnxMapping("Neg"),
    ),
    unary(
        "abs",
        "y = |x|",
        np.abs,
        lambda dy, x, *, out: (dy * np.sign(x),),
        nondiff="abs'(0) = 0",
        kinks=gap_to_zero,
        onnx=OnnxMapping("Abs"),
    ),
    unary(
        "sign",
        "y = -1, 0 or 1 by the sign of x",
        np.sign,
        lambda dy, x, *, out: (np.zeros_like(x),),
        gradient="zero",
        nondiff="derivative is 0 everywhere it exists (undefined at 0, taken as 0)",
        kinks=gap_to_zero,
        bound=lambda m: 1.0,
        onnx=OnnxMapping("Sign"),
    ),
    unary(
        "exp",
        "y = e^x",
        np.exp,
        lambda dy, x, *, out: (dy * out,),
        vjp_reads_out=True,
        domain=("small",),
        bound=math.exp,
        positive="always",
        onnx=OnnxMapping("Exp"),
    ),
    unary(
        "log",
        "y = ln x (natural logarithm)",
        np.log,
        lambda dy, x, *, out: (dy / x,),
        kinks=smallest,
        domain=("positive",),
        bound=lambda m: max(math.log(m), math.log(2.0)),
        onnx=OnnxMapping("Log"),
    ),
    unary(
        "sqrt",
        "y = √x",
        np.sqrt,
        lambda dy, x, *, out: (dy * 0.5 / out,),
        vjp_reads_out=True,
        kinks=smallest,
        domain=("positive",),
        bound=math.sqrt,
        positive="if_inputs",
        onnx=OnnxMapping("Sqrt"),
    ),
    unary(
        "square",
        "y = x²",
        np.square,
        lambda dy, x, *, out: (dy * 2.0 * x,),
        bound=lambda m: m * m,
        onnx=OnnxMapping("Mul", "twice"),
    ),
    unary(
        "sin",
        "y = sin x (radians); the Playground's sin X1, sin X2 features",
        np.sin,
        lambda dy, x, *, out: (dy * np.cos(x),),
        bound=lambda m: min(m, 1.0),
        onnx=OnnxMapping("Sin"),
    ),
    unary(
        "cos",
        "y = cos x (radians)",
        np.cos,
        lambda dy, x, *, out: (-dy * np.sin(x),),
        bound=lambda m: 1.0,
        onnx=OnnxMapping("Cos"),
    ),
    unary(
        "sigmoid",
        "y = 1 / (1 + e^-x), computed without overflow",
        sigmoid,
        lambda dy, x, *, out: (dy * out * (1.0 - out),),
        vjp_reads_out=True,
        helpers=("sigmoid",),
        bound=lambda m: 1.0,
        positive="always",
        onnx=OnnxMapping("Sigmoid"),
    ),
    unary(
        "tanh",
        "y = tanh x",
        np.tanh,
        lambda dy, x, *, out: (dy * (1.0 - out * out),),
        vjp_reads_out=True,
        vjp_fresh=True,
        vjp_into=lambda dy, x, *, out: (np.multiply(dy, 1.0 - out * out, out=dy),),
        bound=lambda m: 1.0,
        onnx=OnnxMapping("Tanh"),
    ),
    unary(
        "relu",
        "y = max(0, x)",
        lambda x: np.maximum(x, 0.0),
        # the output's mask: (y > 0) == (x > 0) for every x (-0.0, NaN and inf too), so
        # the gradient is unchanged, and the reverse pass does not keep the input, which
        # lets relu run in place on its input's buffer while training
        lambda dy, x, *, out: (dy * (out > 0),),
        vjp_reads="shapes",
        vjp_reads_out=True,
        nondiff="relu'(0) = 0",
        write_into=lambda x, out: np.maximum(x, 0.0, out=out),
        ufunc_zero=np.maximum,
        vjp_fresh=True,
        vjp_into=lambda dy, x, *, out: (np.multiply(dy, out > 0, out=dy),),
        kinks=gap_to_zero,
        onnx=OnnxMapping("Relu"),
    ),
    unary(
        "leaky_relu",
        "y = x for x > 0, alpha·x otherwise",
        _leaky_relu,
        lambda dy, x, *, out, alpha=0.1: (dy * np.where(x > 0, 1.0, alpha).astype(x.dtype),),
        attrs={"alpha": ALPHA_LEAKY},
        nondiff="derivative at 0 is alpha",
        kinks=lambda x, **attrs: gap_to_zero(x),
        samples=ALPHA_SAMPLES,
        onnx=OnnxMapping("LeakyRelu", attrs={"alpha": 0.01}),
    ),
    unary(
        "elu",
        "y = x for x > 0, alpha·(e^x − 1) otherwise",
        _elu,
        lambda dy, x, *, out, alpha=1.0: (dy * np.where(x > 0, 1.0, out + alpha).astype(x.dtype),),
        attrs={"alpha": ALPHA_ELU},
        nondiff="derivative at 0 is taken from the left: alpha",
        vjp_reads_out=True,
        kinks=lambda x, **attrs: gap_to_zero(x),
        bound=lambda m: max(m, 1.0),
        samples=ALPHA_SAMPLES,
        onnx=OnnxMapping("Elu", attrs={"alpha": 1.0}),
    ),
    unary(
        "softplus",
        "y = ln(1 + e^x), computed without overflow",
        softplus,
        lambda dy, x, *, out: (dy * sigmoid(x),),
        vjp_helpers=("sigmoid",),
        bound=lambda m: m + 1.0,
        onnx=OnnxMapping("Softplus"),
    ),
    unary(
        "gelu",
        "y = x·Φ(x), tanh approximation",
        gelu,
        _gelu_vjp,
        helpers=("gelu",),
        vjp_helpers=("gelu_vjp",),
        bound=lambda m: m + 1.0,
        onnx=OnnxMapping("Gelu", fixed={"approximate": "tanh"}),
    ),
    unary(
        "erf",
        "y = erf x = 2/√π ∫₀ˣ e^(−t²) dt, within 8 float64 ulp",
        erf,
        lambda dy, x, *, out: (dy * TWO_OVER_SQRT_PI * np.exp(-x * x),),
        helpers=("erf",),
        bound=lambda m: min(m * TWO_OVER_SQRT_PI, 1.0),
        onnx=OnnxMapping("Erf"),
    ),
    unary(
        "silu",
        "y = x·sigmoid(x) (swish)",
        lambda x: x * sigmoid(x),
        _silu_vjp,
        helpers=("sigmoid",),
        vjp_helpers=("silu_vjp",),
        bound=lambda m: m + 1.0,
        onnx=OnnxMapping("Sigmoid", "gated"),
    ),
    unary(
        "hard_sigmoid",
        "y = max(0, min(1, alpha·x + beta)) (ONNX HardSigmoid)",
        _hard_sigmoid,
        _hard_sigmoid_vjp,
        attrs={
            "alpha": {"type": "number", "default": 0.2, "description": "slope of the linear part"},
            "beta": {"type": "number", "default": 0.5, "description": "value at x = 0"},
        },
        nondiff="gradient is alpha where 0 < y < 1 and 0 elsewhere, kinks included",
        vjp_reads="shapes",
        vjp_reads_out=True,
        kinks=_hard_sigmoid_kinks,
        bound=lambda m: 1.0,
        samples={"alpha": (0.2, 0.5), "beta": (0.5, 0.25)},
        onnx=OnnxMapping("HardSigmoid", attrs={"alpha": 0.2, "beta": 0.5}),
    ),
    DROPOUT,
)
