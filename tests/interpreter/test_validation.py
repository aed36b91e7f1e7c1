"""Keras habits in training: validation data or split, early stopping, evaluate, save."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import nnspec
from nnspec.cli.main import main
from nnspec.datasets import load_arrays, make, save_arrays
from nnspec.interpreter import Model
from nnspec.interpreter.evaluate import evaluate
from nnspec.interpreter.stopping import EarlyStopping
from nnspec.interpreter.train import SPLIT_STREAM, train

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
XOR = nnspec.load(EXAMPLES / "xor.json")
DATA = make("xor", 120, noise=0.1, seed=0)
HELD = make("xor", 40, noise=0.1, seed=9)


def same_params(a: Model, b: Model) -> bool:
    return all(a.params[k].tobytes() == b.params[k].tobytes() for k in a.params)


def test_validation_is_recorded_and_does_not_change_training() -> None:
    plain = train(XOR, DATA.x, DATA.y, epochs=5)
    held = train(XOR, DATA.x, DATA.y, epochs=5, validation_data=(HELD.x, HELD.y))
    assert plain.model is not None and held.model is not None
    assert same_params(plain.model, held.model)
    assert held.loss == plain.loss
    assert len(held.val_loss) == 5 and list(held.metrics) == ["accuracy", "val_accuracy"]
    # the last val_loss is the held-out loss of the final params
    assert held.val_loss[-1] == evaluate(held.model, HELD.x, HELD.y)["loss"]
    assert held.metrics["val_accuracy"][-1] == held.model.evaluate(HELD.x, HELD.y)["accuracy"]
    as_dict = train(XOR, DATA.x, DATA.y, epochs=5, validation_data={"x": HELD.x, "y": HELD.y})
    assert as_dict.val_loss == held.val_loss


def test_validation_split_is_seeded_and_holds_out_the_stated_rows() -> None:
    a = train(XOR, DATA.x, DATA.y, epochs=3, validation_split=0.25)
    b = train(XOR, DATA.x, DATA.y, epochs=3, validation_split=0.25)
    assert a.val_loss == b.val_loss and same_params(a.model, b.model)
    order = np.random.default_rng([0, SPLIT_STREAM]).permutation(120)
    rest, held = np.sort(order[:90]), np.sort(order[90:])
    by_hand = train(
        XOR,
        DATA.x[rest],
        DATA.y[rest],
        epochs=3,
        validation_data=(DATA.x[held], DATA.y[held]),
    )
    assert by_hand.val_loss == a.val_loss and same_params(by_hand.model, a.model)
    other = train(XOR, DATA.x, DATA.y, epochs=3, validation_split=0.25, seed=1)
    assert other.val_loss != a.val_loss


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"validation_split": 0.2, "validation_data": (HELD.x, HELD.y)}, "not both"),
        ({"validation_split": 1.0}, "validation_split must be a share above 0 and below 1"),
        ({"validation_split": 0.001}, "leaves no rows to hold out"),
        ({"validation_data": (HELD.x[:, :1], HELD.y)}, r"validation data: input 'x'"),
        ({"early_stopping": {"monitor": "val_loss"}}, "val_\\* values need validation data"),
        ({"early_stopping": {"patience": 2, "wait": 1}}, "early_stopping: unknown setting"),
        ({"early_stopping": {"patience": -1}}, "patience must be >= 0"),
    ],
)
def test_bad_settings_are_refused(options: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        train(XOR, DATA.x, DATA.y, epochs=2, **options)


def test_early_stopping_stops_and_restores_the_best_epoch() -> None:
    # min_delta larger than any change: epoch 1 stays best, patience 2 stops at epoch 3
    stopped = train(
        XOR,
        DATA.x,
        DATA.y,
        epochs=50,
        early_stopping={"monitor": "loss", "patience": 2, "min_delta": 10.0},
    )
    assert stopped.epochs == 3 and stopped.stopped == "early stopping"
    assert stopped.best_epoch == 1
    one = train(XOR, DATA.x, DATA.y, epochs=1)
    assert same_params(stopped.model, one.model)
    kept = train(
        XOR,
        DATA.x,
        DATA.y,
        epochs=50,
        early_stopping=EarlyStopping("loss", 2, 10.0, restore_best=False),
    )
    three = train(XOR, DATA.x, DATA.y, epochs=3)
    assert same_params(kept.model, three.model)
    assert json.loads(stopped.to_json())["best_epoch"] == 1


def test_accuracy_improves_upwards() -> None:
    watch = EarlyStopping("val_accuracy", patience=1)
    params = {"w": np.zeros(1)}
    assert not watch.update(1, 0.5, params)
    assert not watch.update(2, 0.9, params) and watch.best == 0.9
    assert watch.update(3, 0.8, params) and watch.best_epoch == 2
    loss = EarlyStopping("loss", patience=0)
    assert not loss.update(1, 1.0, params)
    assert loss.update(2, 1.0, params)  # no improvement at all, patience 0


def test_history_rows_and_files_carry_validation() -> None:
    history = train(XOR, DATA.x, DATA.y, epochs=2, validation_split=0.25)
    row = history.rows()[0]
    assert list(row) == ["epoch", "loss", "val_loss", "accuracy", "val_accuracy"]
    assert history.to_csv().splitlines()[0] == "epoch,loss,val_loss,accuracy,val_accuracy"


def test_the_bar_shows_validation(capsys: pytest.CaptureFixture) -> None:
    train(XOR, DATA.x, DATA.y, epochs=2, validation_split=0.25, quiet=False)
    assert "val_loss" in capsys.readouterr().err


def test_evaluate_matches_the_formula() -> None:
    model = Model(nnspec.load(EXAMPLES / "logistic_regression.json"))
    data = make("gaussians", 50, dtype="float64")
    scores = evaluate(model, data.x, data.y)
    p = next(iter(model.run({"x": data.x}).values())).astype(np.float64)
    y = data.y
    expected = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    assert scores["loss"] == pytest.approx(expected, rel=1e-5)
    assert scores["accuracy"] == np.mean((p > 0.5) == (y > 0.5))
    batched = evaluate(model, data.x, data.y, batch_size=7)
    assert batched["accuracy"] == scores["accuracy"]
    assert batched["loss"] == pytest.approx(scores["loss"], rel=1e-6)
    assert list(evaluate(model, data.x, data.y, metrics=["mse"])) == ["loss", "mse"]
    with pytest.raises(ValueError, match="unknown metric 'f1'"):
        evaluate(model, data.x, data.y, metrics=["f1"])
    with pytest.raises(ValueError, match="no 'training' section"):
        evaluate(Model(nnspec.load(EXAMPLES / "sign_network.json")), data.x)


def test_save_writes_a_document_that_loads_to_the_same_params(tmp_path: Path) -> None:
    history = train(XOR, DATA.x, DATA.y, epochs=3)
    document = json.loads((EXAMPLES / "xor.json").read_text())
    out = nnspec.save(document, tmp_path / "xor.trained.json", history.model.params)
    assert same_params(Model(nnspec.load(out)), history.model)
    big = {
        "nnspec": "1",
        "inputs": {"x": {"shape": ["batch", 200]}},
        "nodes": [{"id": "h", "op": "dense", "units": 60}],
    }
    model = Model(nnspec.load(big))
    out = nnspec.save(big, tmp_path / "big.json", model.params)
    assert (tmp_path / "big.weights.npz").is_file()
    assert same_params(Model(nnspec.load(out)), model)
    bad = dict(history.model.params) | {"prob.b": np.array([np.nan], dtype=np.float32)}
    with pytest.raises(ValueError, match=r"'prob\.b' is not finite"):
        nnspec.save(document, tmp_path / "nan.json", bad)
    assert not (tmp_path / "nan.json").exists()


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    save_arrays("train.npz", {"x": DATA.x, "y": DATA.y})
    save_arrays("held.csv", {"x": HELD.x, "y": HELD.y})
    return tmp_path


def test_cli_train_with_validation_and_early_stopping(
    files: Path, capsys: pytest.CaptureFixture
) -> None:
    xor = str(EXAMPLES / "xor.json")
    args = ["train", xor, "--data", "train.npz", "--validation", "held.csv", "-o", "a.json"]
    assert main([*args, "--epochs", "4", "--history", "h.json", "-q"]) == 0
    err = capsys.readouterr().err
    assert "val_loss" in err and "val_accuracy" in err
    rows = json.loads(Path("h.json").read_text())["history"]
    assert [r["epoch"] for r in rows] == [1, 2, 3, 4] and "val_loss" in rows[0]
    expected = train(XOR, DATA.x, DATA.y, epochs=4, validation_data=(HELD.x, HELD.y))
    assert [r["val_loss"] for r in rows] == expected.val_loss
    stop = ["train", xor, "--data", "train.npz", "--validation-split", "0.25", "-o", "b.json"]
    assert main([*stop, "--patience", "0", "--min-delta", "10", "-q"]) == 0
    assert "stopped early, kept epoch 1" in capsys.readouterr().err
    assert main([*stop, "--monitor", "val_loss", "-q"]) == 2
    assert "--monitor belongs to early stopping" in capsys.readouterr().err
    both = [*stop, "--validation", "held.csv"]
    with pytest.raises(SystemExit) as exit_info:
        main(both)
    assert exit_info.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err
    bad = ["train", xor, "--data", "train.npz", "--validation", "nope.npz", "-o", "c.json"]
    assert main(bad) == 2
    assert "nope.npz: file not found" in capsys.readouterr().err


def test_cli_evaluate(files: Path, capsys: pytest.CaptureFixture) -> None:
    assert (
        main(
            [
                "train",
                str(EXAMPLES / "xor.json"),
                "--data",
                "train.npz",
                "-o",
                "t.json",
                "--epochs",
                "30",
                "--silent",
            ]
        )
        == 0
    )
    assert main(["evaluate", "t.json", "--data", "held.csv"]) == 0
    text = capsys.readouterr().out
    scores = Model(nnspec.load("t.json")).evaluate(HELD.x, HELD.y)
    assert (
        text == f"held.csv: 40 rows, loss {scores['loss']:.6g}, accuracy {scores['accuracy']:.6g}\n"
    )
    assert main(["evaluate", "t.json", "--data", "held.csv", "-f", "json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["rows"] == 40 and payload["loss"] == pytest.approx(scores["loss"])
    assert main(["evaluate", str(EXAMPLES / "sign_network.json"), "--data", "held.csv"]) == 2
    assert "no 'training' section" in capsys.readouterr().err
    save_arrays("narrow.npz", {"x": HELD.x[:, :1], "y": HELD.y})
    assert main(["evaluate", "t.json", "--data", "narrow.npz"]) == 2
    assert "narrow.npz: input 'x'" in capsys.readouterr().err
    assert load_arrays("held.csv", inputs=["x"], targets=["y"])["x"].shape == (40, 2)
