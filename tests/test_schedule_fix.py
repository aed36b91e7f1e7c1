"""A schedule missing a required setting says what to write, where it was given.

The same mistake (``step`` without ``step_size``) in the three places a schedule is
written: the document's ``training.schedule`` (a located NN103), the Python
parameter ``schedule=`` and the command line's ``--schedule``. Each message names
the setting, shows an example value in that place's own syntax, and the fix it
shows is accepted as written.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

import nnspec
from nnspec.cli.main import main
from nnspec.cli.train import schedule_option
from nnspec.datasets import make
from nnspec.errors import SpecError
from nnspec.optimizers import SettingError

XOR = json.loads((Path(__file__).resolve().parents[1] / "examples" / "xor.json").read_text())
NEEDS = "schedule 'step' needs 'step_size' (epochs between two decays)"


def test_the_document_key_gets_the_key_to_add() -> None:
    doc = json.loads(json.dumps(XOR))
    doc["training"]["schedule"] = {"name": "step", "gamma": 0.5}
    with pytest.raises(SpecError) as error:
        nnspec.load(doc)
    (problem,) = error.value.problems
    assert problem.code == "NN103" and problem.pointer == "/training/schedule"
    assert problem.message == (
        "'training.schedule' needs the key 'step_size' (epochs between two decays); "
        'add "step_size": 10'
    )
    doc["training"]["schedule"]["step_size"] = 10
    assert nnspec.load(doc).training.schedule == {"name": "step", "gamma": 0.5, "step_size": 10}


@pytest.mark.parametrize(
    ("given", "fix"),
    [
        ("step", "schedule={'name': 'step', 'step_size': 10}"),
        (
            {"name": "step", "gamma": 0.5},
            "schedule={'name': 'step', 'gamma': 0.5, 'step_size': 10}",
        ),
    ],
)
def test_the_python_parameter_gets_the_argument_to_pass(given: object, fix: str) -> None:
    data = make("xor", 16, seed=0)
    with pytest.raises(SettingError) as error:
        nnspec.train(nnspec.load(XOR), data.x, data.y, schedule=given, epochs=1, quiet=True)
    assert str(error.value) == f"schedule: {NEEDS}; write {fix}"
    written = ast.literal_eval(fix.removeprefix("schedule="))
    nnspec.train(nnspec.load(XOR), data.x, data.y, schedule=written, epochs=1, quiet=True)


@pytest.mark.parametrize(
    ("given", "fix"),
    [("step", "step:step_size=10"), ("step:gamma=0.5", "step:gamma=0.5,step_size=10")],
)
def test_the_command_line_option_gets_the_option_to_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], given: str, fix: str
) -> None:
    doc = tmp_path / "xor.json"
    doc.write_text(json.dumps(XOR))
    with pytest.raises(SystemExit) as exited:
        main(["train", str(doc), "--schedule", given, "-q"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert f"nnspec train: error: argument --schedule: {NEEDS}; write --schedule {fix}\n" in err
    assert schedule_option(fix)["step_size"] == 10
