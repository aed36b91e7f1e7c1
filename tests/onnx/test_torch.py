"""Real PyTorch MLPs exported by both torch.onnx exporters, imported and run."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest
from onnx_checks import assert_agrees

from nnspec.onnx import from_onnx

torch = pytest.importorskip("torch")
nn = torch.nn


def _mlp(*layers: object) -> object:
    torch.manual_seed(0)
    model = nn.Sequential(*layers).eval()
    for module in model:
        if isinstance(module, nn.BatchNorm1d):  # non-trivial statistics to fold
            module.running_mean.uniform_(-1.0, 1.0)
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.5, 0.5)
    return model


MODELS = {
    "relu": lambda: _mlp(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3)),
    "tanh_sigmoid": lambda: _mlp(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 1), nn.Sigmoid()),
    "gelu_softmax": lambda: _mlp(nn.Linear(5, 8), nn.GELU(), nn.Linear(8, 3), nn.Softmax(dim=1)),
    "gelu_tanh": lambda: _mlp(nn.Linear(5, 8), nn.GELU(approximate="tanh"), nn.Linear(8, 2)),
    "leaky_elu": lambda: _mlp(
        nn.Linear(4, 8), nn.LeakyReLU(), nn.Linear(8, 8), nn.ELU(alpha=0.5), nn.Linear(8, 2)
    ),
    "batchnorm_dropout": lambda: _mlp(
        nn.Flatten(),
        nn.Linear(4, 8),
        nn.BatchNorm1d(8),
        nn.ReLU(),
        nn.Dropout(0.3),
        nn.Linear(8, 3),
        nn.LogSoftmax(dim=-1),
    ),
    "batchnorm_first": lambda: _mlp(nn.BatchNorm1d(4), nn.Linear(4, 3), nn.Hardsigmoid()),
    "clip_silu": lambda: _mlp(
        nn.Linear(4, 6), nn.ReLU6(), nn.Linear(6, 6), nn.SiLU(), nn.Linear(6, 2)
    ),
}


def _export(model: object, features: int, dynamo: bool, opset: int | None = None) -> bytes:
    x = torch.randn(3, features)
    kwargs: dict = {"input_names": ["x"], "output_names": ["y"]}
    if opset is not None:
        kwargs["opset_version"] = opset
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if dynamo:
            program = torch.onnx.export(
                model,
                (x,),
                None,
                dynamo=True,
                verbose=False,
                dynamic_shapes=({0: torch.export.Dim("batch")},),
                **kwargs,
            )
            return program.model_proto.SerializeToString()
        buffer = io.BytesIO()
        torch.onnx.export(
            model,
            (x,),
            buffer,
            dynamo=False,
            dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}},
            **kwargs,
        )
        return buffer.getvalue()


def _features(model: object) -> int:
    first = next(m for m in model if isinstance(m, nn.Linear | nn.BatchNorm1d))
    return first.in_features if isinstance(first, nn.Linear) else first.num_features


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("opset", [None, 13, 17])
def test_torchscript_export_imports_and_agrees(name: str, opset: int | None) -> None:
    model = MODELS[name]()
    blob = _export(model, _features(model), dynamo=False, opset=opset)
    imported = from_onnx(blob)
    assert imported.document["inputs"] == {"x": {"shape": ["batch", _features(model)]}}
    assert imported.document["x-onnx"]["producer"].startswith("pytorch")
    assert_agrees(blob, imported)


@pytest.mark.parametrize("name", ["gelu_softmax", "batchnorm_dropout", "leaky_elu"])
def test_dynamo_export_imports_and_agrees(name: str) -> None:
    pytest.importorskip("onnxscript")
    model = MODELS[name]()
    blob = _export(model, _features(model), dynamo=True)
    assert_agrees(blob, from_onnx(blob))


def test_layers_become_dense_and_batchnorm_folds() -> None:
    model = MODELS["batchnorm_dropout"]()
    document = from_onnx(_export(model, 4, dynamo=False)).document
    ops = [n["op"] for n in document["nodes"]]
    assert ops == ["dense", "dense"]
    activations = [n.get("activation") for n in document["nodes"]]
    assert activations == ["relu", "log_softmax"]
    weight = np.asarray(document["params"][f"{document['nodes'][0]['id']}.W"]["value"])
    assert weight.shape == (4, 8)  # torch's [out, in] weight, transposed exactly


def test_weights_are_carried_bit_for_bit() -> None:
    model = MODELS["relu"]()
    imported = from_onnx(_export(model, 4, dynamo=False))
    first = imported.document["nodes"][0]["id"]
    expected = model[0].weight.detach().numpy().T
    assert np.array_equal(imported.weights[f"{first}.W"], expected)
    inline = np.asarray(imported.document["params"][f"{first}.W"]["value"], dtype=np.float32)
    assert inline.tobytes() == expected.tobytes()
