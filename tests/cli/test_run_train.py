"""``nnspec train`` and ``nnspec run``: outputs, exit codes, safety of files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import nnspec
from nnspec.cli.main import main
from nnspec.datasets import load_arrays, make, save_arrays
from nnspec.interpreter import Model

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "xor.json").write_text((EXAMPLES / "xor.json").read_text())
    data = make("xor", 64, seed=0)
    save_arrays(tmp_path / "xor.npz", {"x": data.x, "y": data.y})
    data.save(tmp_path / "xor.csv")
    save_arrays(tmp_path / "xonly.csv", {"x": data.x})
    return tmp_path


def nnspec_cli(*args: str) -> int:
    return main([str(a) for a in args])


def test_train_writes_a_document_that_reloads_to_the_trained_values(work, capsys):
    original = (work / "xor.json").read_text()
    code = nnspec_cli(
        "train",
        "xor.json",
        "--data",
        "xor.npz",
        "--out",
        "out.json",
        "--epochs",
        "20",
        "--history",
        "h.json",
    )
    err = capsys.readouterr().err
    assert code == 0, err
    assert "\r" not in err  # no progress bar when stderr is not a terminal
    assert (work / "xor.json").read_text() == original
    assert nnspec.validate(work / "out.json") == []
    trained = Model(nnspec.load(work / "out.json"))
    again = Model(nnspec.load(work / "xor.json"))
    from nnspec.interpreter.train import train

    expected = train(again, load_arrays(work / "xor.npz", inputs=["x", "y"]), epochs=20, quiet=True)
    for name, value in trained.params.items():
        assert value.tobytes() == expected.model.params[name].tobytes()
    history = json.loads((work / "h.json").read_text())
    assert history["epochs"] == 20 and history["stopped"] is None
    assert set(history["history"][0]) == {"epoch", "loss", "accuracy"}


def test_train_from_csv_with_target_columns_and_csv_history(work):
    assert (
        nnspec_cli(
            "train",
            "xor.json",
            "--data",
            "xor.csv",
            "--target",
            "y_0",
            "--out",
            "out.json",
            "--epochs",
            "2",
            "-q",
            "--history",
            "h.csv",
        )
        == 0
    )
    assert (work / "h.csv").read_text().splitlines()[0] == "epoch,loss,accuracy"


def test_large_models_get_a_weights_file_beside_the_output(work):
    doc = json.loads((work / "xor.json").read_text())
    doc["nodes"][0]["units"] = 4000  # 2*4000 + 4000 + 4000 + 1 params > 10 000
    (work / "wide.json").write_text(json.dumps(doc))
    assert (
        nnspec_cli(
            "train",
            "wide.json",
            "--data",
            "xor.npz",
            "--out",
            "wide_out.json",
            "--epochs",
            "1",
            "-q",
        )
        == 0
    )
    out = json.loads((work / "wide_out.json").read_text())
    assert out["weights"] == "wide_out.weights.npz"
    assert (work / "wide_out.weights.npz").exists()
    reloaded = Model(nnspec.load(work / "wide_out.json"))
    assert reloaded.params["hidden.W"].shape == (2, 4000)


def test_never_overwrites_the_input_unless_in_place(work, capsys):
    original = (work / "xor.json").read_text()
    assert nnspec_cli("train", "xor.json", "--data", "xor.npz", "--out", "xor.json") == 2
    assert "--in-place" in capsys.readouterr().err
    assert nnspec_cli("train", "xor.json", "--data", "xor.npz") == 2
    assert (work / "xor.json").read_text() == original
    assert (
        nnspec_cli("train", "xor.json", "--data", "xor.npz", "--in-place", "--epochs", "1", "-q")
        == 0
    )
    assert (work / "xor.json").read_text() != original
    assert "value" in json.loads((work / "xor.json").read_text())["params"]["prob.b"]


def test_invalid_document_prints_located_problems_and_exits_1(work, capsys):
    (work / "bad.json").write_text(
        '{"nnspec": "1",\n "inputs": {"x": {"shape": [2]}},\n "nodes": [{"op": "nope"}]}'
    )
    assert nnspec_cli("train", "bad.json", "--data", "xor.npz", "--out", "o.json") == 1
    err = capsys.readouterr().err
    assert err.startswith("bad.json:3:")
    assert "NN105" in err and "(at /nodes/0" in err


@pytest.mark.parametrize(
    "args, message",
    [
        (["--data", "missing.npz"], "file not found"),
        (["--data", "xonly.csv"], "no column for 'y'"),
        (["--data", "xor.npz", "--history", "h.txt"], ".json or .csv"),
    ],
)
def test_usage_and_data_problems_exit_2(work, capsys, args, message):
    assert nnspec_cli("train", "xor.json", "--out", "o.json", *args) == 2
    assert message in capsys.readouterr().err
    assert not (work / "o.json").exists()


def test_bad_option_values_are_usage_errors(work, capsys):
    with pytest.raises(SystemExit) as caught:
        nnspec_cli("train", "xor.json", "--data", "xor.npz", "--out", "o.json", "--epochs", "0")
    assert caught.value.code == 2
    assert "argument --epochs: must be at least 1" in capsys.readouterr().err


def test_data_that_does_not_fit_exits_2(work, capsys):
    save_arrays(work / "wrong.npz", {"x": np.zeros((4, 3)), "y": np.zeros((4, 1))})
    assert nnspec_cli("train", "xor.json", "--data", "wrong.npz", "--out", "o.json") == 2
    assert "input 'x': expected shape [batch, 2]" in capsys.readouterr().err


def test_non_finite_loss_exits_1_and_keeps_the_input(work, capsys):
    (work / "lin.json").write_text((EXAMPLES / "linear_regression.json").read_text())
    rng = np.random.default_rng(0)
    save_arrays(
        work / "big.npz", {"x": rng.normal(size=(50, 3)) * 1e3, "y": rng.normal(size=(50, 1)) * 1e3}
    )
    code = nnspec_cli(
        "train",
        "lin.json",
        "--data",
        "big.npz",
        "--out",
        "o.json",
        "--lr",
        "10",
        "--history",
        "h.json",
    )
    assert code == 1
    assert "not finite" in capsys.readouterr().err
    assert not (work / "o.json").exists()
    assert json.loads((work / "h.json").read_text())["stopped"] == "non-finite loss"


def test_interrupt_writes_the_last_completed_epoch_and_exits_130(work, monkeypatch):
    calls = {"n": 0}
    original = Model.loss_and_gradients

    def interrupt(self, plan, env):
        calls["n"] += 1
        if calls["n"] == 5:  # two batches of 32 per epoch: stops during epoch 3
            raise KeyboardInterrupt
        return original(self, plan, env)

    monkeypatch.setattr(Model, "loss_and_gradients", interrupt)
    assert (
        nnspec_cli(
            "train", "xor.json", "--data", "xor.npz", "--out", "o.json", "-q", "--history", "h.json"
        )
        == 130
    )
    assert json.loads((work / "h.json").read_text())["epochs"] == 2
    assert nnspec.validate(work / "o.json") == []


def test_run_writes_the_outputs(work):
    assert nnspec_cli("run", "xor.json", "--input", "xor.npz", "-o", "pred.npz") == 0
    x = load_arrays(work / "xor.npz", inputs=["x"])["x"]
    expected = Model(nnspec.load(work / "xor.json")).predict(x)
    np.testing.assert_array_equal(load_arrays(work / "pred.npz", inputs=["prob"])["prob"], expected)
    assert nnspec_cli("run", "xor.json", "--input", "xor.npz", "-o", "pred.csv") == 0
    assert (work / "pred.csv").read_text().startswith("prob_0\n")


def test_run_refuses_bad_paths(work, capsys):
    assert nnspec_cli("run", "xor.json", "--input", "xor.npz", "-o", "xor.json") == 2
    assert nnspec_cli("run", "missing.json", "--input", "xor.npz", "-o", "p.npz") == 2
    assert nnspec_cli("run", "xor.json", "--input", "xor.npz", "-o", "p.txt") == 2
    assert "Traceback" not in capsys.readouterr().err


def test_the_real_command_line(work):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "nnspec",
            "train",
            "xor.json",
            "--data",
            "xor.npz",
            "--out",
            "o.json",
            "--epochs",
            "3",
        ],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(Path(nnspec.__file__).parents[1])},
    )
    assert result.returncode == 0, result.stderr
    assert "3 epoch(s)" in result.stderr and "Traceback" not in result.stderr


def test_train_plot_writes_history_and_boundary_pngs(work):
    pytest.importorskip("matplotlib")
    args = ("train", "xor.json", "--data", "xor.npz", "--out", "o.json", "--epochs", "3")
    assert nnspec_cli(*args, "-q", "--plot", "plots") == 0
    for name in ("history.png", "boundary.png"):
        assert (work / "plots" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_train_plot_without_matplotlib_is_a_usage_error(work, capsys, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "matplotlib" else real(name, *a),
    )
    args = ("train", "xor.json", "--data", "xor.npz", "--out", "o.json", "--epochs", "3")
    assert nnspec_cli(*args, "--plot", "plots") == 2
    assert "nnspec[plot]" in capsys.readouterr().err
    assert not (work / "o.json").exists()
