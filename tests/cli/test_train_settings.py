"""``nnspec train`` with the document's schedule, validation and early stopping keys,
the options that override them, and messages that name the options."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import nnspec
from nnspec.cli.main import main
from nnspec.datasets import make, save_arrays
from nnspec.interpreter import Model

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
KEYS = {
    "epochs": 12,
    "schedule": {"name": "step", "step_size": 3, "gamma": 0.5, "warmup_epochs": 2},
    "validation_split": 0.25,
    "early_stopping": {"patience": 50},
}


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    doc = json.loads((EXAMPLES / "xor.json").read_text())
    doc["training"].update(KEYS)
    doc["nodes"][0]["regularizer"] = {"l2": 1e-3}
    (tmp_path / "xor.json").write_text(json.dumps(doc))
    data = make("xor", 64, seed=0)
    save_arrays(tmp_path / "xor.npz", {"x": data.x, "y": data.y})
    return tmp_path


def train(*args: str) -> int:
    """The exit code (argparse exits with 2 itself on a bad option value)."""
    try:
        return main(["train", "xor.json", "--data", "xor.npz", "-o", "out.json", "-q", *args])
    except SystemExit as exc:
        return int(exc.code or 0)


def history(path: str = "h.json") -> list[dict]:
    return json.loads(Path(path).read_text())["history"]


def test_the_document_keys_are_honoured_exactly_as_by_nnspec_train(work: Path) -> None:
    assert train("--history", "h.json") == 0
    data = make("xor", 64, seed=0)
    want = nnspec.train(Model(nnspec.load("xor.json")), data.x, data.y, quiet=True)
    assert history() == json.loads(want.to_json())["history"]
    rates = [row["learning_rate"] for row in history()]
    assert rates[:6] == [0.5 / 3, 0.5 * 2 / 3, 0.5, 0.5, 0.5, 0.25]
    assert all("val_loss" in row for row in history())
    trained = nnspec.load("out.json")
    for name, value in want.model.params.items():
        assert np.array_equal(Model(trained).params[name], value), name


def test_options_override_the_document(work: Path) -> None:
    assert train("--history", "h.json", "--schedule", "exponential:gamma=0.5", "--epochs", "3") == 0
    assert [row["learning_rate"] for row in history()] == [0.5, 0.25, 0.125]  # no warm-up
    assert (
        train("--history", "h.json", "--schedule", "constant:warmup_epochs=1", "--epochs", "3") == 0
    )
    assert [row["learning_rate"] for row in history()] == [0.25, 0.5, 0.5]
    assert train("--history", "h.json", "--patience", "0", "--min-delta", "100") == 0
    assert len(history()) == 2  # epoch 1 is the best; epoch 2 brings no gain of 100
    assert train("--history", "h.json", "--no-early-stopping", "--patience", "0") == 2
    assert train("--history", "h.json", "--validation", "xor.npz", "--epochs", "1") == 0
    data = make("xor", 64, seed=0)
    model = Model(nnspec.load("xor.json"))
    want = nnspec.train(model, data.x, data.y, epochs=1, validation_data=(data.x, data.y))
    assert history()[0]["val_loss"] == want.val_loss[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--validation-split", "1"],
            "argument --validation-split: must be a finite number above 0 and below 1, got 1",
        ),
        (
            ["--validation-split", "0.001"],
            "--validation-split 0.001 of 64 rows leaves no rows to hold out",
        ),
        (
            ["--schedule", "step"],
            "argument --schedule: schedule 'step' needs 'step_size' (epochs between two "
            "decays); write --schedule step:step_size=10",
        ),
        (
            ["--schedule", "step:gamma=2,step_size=1"],
            "argument --schedule: gamma must be a number > 0 and <= 1, got 2",
        ),
        (["--schedule", "cosine:gamma=0.5"], "schedule 'cosine' has no setting 'gamma'"),
        (
            ["--schedule", "cosine:warmup_epochs"],
            "expected KEY=NUMBER after cosine:, got 'warmup_epochs'",
        ),
        (["--monitor", "val_mse"], "--monitor 'val_mse' is not recorded by this training"),
        (
            ["--schedule", "step:step_size=2,step_size=3"],
            "argument --schedule: 'step_size' is given twice after step:; give it once",
        ),
        (
            ["--schedule", "step:step_size=2, step_size =3"],
            "argument --schedule: 'step_size' is given twice after step:; give it once",
        ),
        (
            ["--schedule", "step:name=1,step_size=2"],
            "'name' is given twice after step:; the schedule's kind goes before ':'",
        ),
        (
            ["--schedule", "exponential:gamma=NaN"],
            "argument --schedule: gamma must be a number > 0 and <= 1, got nan",
        ),
    ],
)
def test_bad_settings_name_the_option(
    work: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert train(*args) == 2
    err = capsys.readouterr().err
    assert message in err, err
    assert "Traceback" not in err and not Path("out.json").exists()


def test_a_bad_document_split_names_the_document_key(work: Path, capsys) -> None:
    doc = json.loads(Path("xor.json").read_text())
    doc["training"]["validation_split"] = 0.001
    Path("xor.json").write_text(json.dumps(doc))
    assert train() == 2
    assert "training.validation_split 0.001 of 64 rows leaves no rows" in capsys.readouterr().err
