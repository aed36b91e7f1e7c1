"""Every example is trainable from the docs: each names (``x-data``) the command that
makes matching data, (``x-train`` or ``x-run``) the command that uses it, and
(``x-expect``) the result; this test runs exactly those commands and checks it."""

from __future__ import annotations

import json
import operator
import re
import shlex
import shutil
from pathlib import Path

import numpy as np
import pytest

from nnspec.cli.main import main
from nnspec.datasets import load_arrays

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
NAMES = sorted(p.stem for p in EXAMPLES.glob("*.json"))
COMPARE = {">=": operator.ge, "<=": operator.le}


def document(name: str) -> dict:
    return json.loads((EXAMPLES / f"{name}.json").read_text())


def nnspec_command(line: str, capsys: pytest.CaptureFixture) -> str:
    """Run one documented ``nnspec ...`` line in-process; return its standard error."""
    words = shlex.split(line)
    assert words[0] == "nnspec", line
    code = main(words[1:])
    err = capsys.readouterr().err
    assert code == 0, f"{line}\n{err}"
    return err


def test_every_example_states_its_data_command_and_result() -> None:
    assert len(NAMES) >= 8
    for name in NAMES:
        doc = document(name)
        assert doc["x-data"].startswith("nnspec data "), name
        assert ("x-train" in doc) == ("training" in doc), name
        use = doc.get("x-train") or doc["x-run"]
        assert f"examples/{name}.json" in use, name
        assert doc["x-expect"], name


@pytest.mark.parametrize("name", NAMES)
def test_example_reaches_its_stated_result(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    doc = document(name)
    nnspec_command(doc["x-data"], capsys)
    if "x-run" in doc:
        nnspec_command(doc["x-run"], capsys)
        check_run(name, doc)
        return
    err = nnspec_command(doc["x-train"], capsys)
    # The result line: "nnspec train: N epoch(s), loss L, accuracy A; wrote OUT".
    result = re.search(r"epoch\(s\), (.*); wrote ", err)
    assert result, err
    values = dict(item.split(" ") for item in result.group(1).split(", "))
    metric, op, bound = doc["x-expect"].split(" ")
    assert COMPARE[op](float(values[metric]), float(bound)), f"{name}: {err}"
    out = shlex.split(doc["x-train"])[-1]
    assert Path(out).is_file()


def check_run(name: str, doc: dict) -> None:
    """The sign network is hand-weighted: its output is the lecture's formula."""
    assert name == "sign_network", "a new x-run example needs its check here"
    data = shlex.split(doc["x-data"])[-1]
    out = shlex.split(doc["x-run"])[-1]
    x = load_arrays(data, inputs=["x"])["x"]
    o = load_arrays(out, inputs=["o"])["o"]
    x1, x2 = x[:, 0], x[:, 1]
    h1, h2 = np.sign(x2 - 2 * x1 - 2), np.sign(x2 + 3 * x1 - 4)
    assert doc["x-expect"] == "o == sign(sign(x2 + 3*x1 - 4) - sign(x2 - 2*x1 - 2) - 1)"
    np.testing.assert_array_equal(o[:, 0], np.sign(h2 - h1 - 1))


def test_training_docs_list_every_examples_commands() -> None:
    page = (EXAMPLES.parent / "docs" / "training.md").read_text()
    for name in NAMES:
        doc = document(name)
        for key in ("x-data", "x-train", "x-run", "x-expect"):
            if key in doc:
                assert f"`{doc[key]}`" in page, (name, key)
