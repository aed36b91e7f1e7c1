"""The composite GitHub Action: `action.yml` is consistent, and its validation step
(`action/validate.sh`) does what a workflow run would — annotations on stdout, a
SARIF file, outputs for the later steps — run here as GitHub runs it."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
SCRIPT = ROOT / "action" / "validate.sh"
BAD = '{"nnspec": "1", "inputs": {"x": {"shape": [2]}}, "nodes": [{"op": "relu", "inputs": ["y"]}]}'
WARN = (
    '{"nnspec": "1", "inputs": {"x": {"shape": [2]}},'
    ' "params": {"p": {"shape": [1], "init": "ones"}}, "nodes": [{"op": "relu"}]}'
)

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


def test_action_is_a_composite_whose_steps_use_only_declared_inputs() -> None:
    assert ACTION["runs"]["using"] == "composite"
    steps = ACTION["runs"]["steps"]
    text = (ROOT / "action.yml").read_text(encoding="utf-8")
    used = set(re.findall(r"inputs\.([a-z-]+)", text))
    assert used == set(ACTION["inputs"])
    assert all("shell" in s for s in steps if "run" in s)  # composite run steps need one
    [validate] = [s for s in steps if s.get("id") == "validate"]
    assert validate["run"] == 'bash "$GITHUB_ACTION_PATH/action/validate.sh"'
    assert {o["value"] for o in ACTION["outputs"].values()} == {
        "${{ steps.validate.outputs.exit-code }}",
        "${{ steps.validate.outputs.sarif-file }}",
    }
    uploads = [s for s in steps if str(s.get("uses", "")).startswith("github/codeql-action/")]
    assert [u["uses"] for u in uploads] == ["github/codeql-action/upload-sarif@v3"]
    assert "always()" in uploads[0]["if"]
    assert steps[-1]["run"] == 'exit "${STATUS:-2}"'


def _run_step(folder: Path, **inputs: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    output = folder / "github_output"
    output.write_text("", encoding="utf-8")
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["GITHUB_OUTPUT"] = str(output)
    env.update({f"NNSPEC_{key.upper()}": value for key, value in inputs.items()})
    done = subprocess.run(
        ["bash", str(SCRIPT)], cwd=folder, env=env, capture_output=True, text=True, check=False
    )
    outputs = dict(line.split("=", 1) for line in output.read_text("utf-8").splitlines())
    return done, outputs


def test_step_annotates_writes_sarif_and_records_the_exit_code(
    tmp_path: Path, assert_valid_sarif: Callable[[Any], None]
) -> None:
    (tmp_path / "models" / "more").mkdir(parents=True)
    (tmp_path / "models" / "bad.json").write_text(BAD, encoding="utf-8")
    (tmp_path / "models" / "more" / "warn.json").write_text(WARN, encoding="utf-8")
    (tmp_path / "package.json").write_text('{"name": "app"}', encoding="utf-8")
    done, outputs = _run_step(tmp_path, paths="models package*.json", sarif="out/nnspec.sarif")
    assert done.returncode == 0  # the action's last step fails the job, after the upload
    assert outputs == {"exit-code": "1", "sarif-file": "out/nnspec.sarif"}
    lines = done.stdout.splitlines()
    assert [line.split(" ", 1)[0] for line in lines] == ["::error", "::warning", "::error"]
    assert lines[0].startswith("::error file=models/bad.json,line=1,endLine=1,col=86,")
    sarif = json.loads((tmp_path / "out" / "nnspec.sarif").read_text(encoding="utf-8"))
    assert_valid_sarif(sarif)
    results = sarif["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == ["NN202", "NN901", "NN106"]


def test_step_passes_options_and_globs_through(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "warn.json").write_text(WARN, encoding="utf-8")
    done, outputs = _run_step(tmp_path, paths="a/*.json", args="--strict", sarif="")
    assert outputs == {"exit-code": "1", "sarif-file": ""}
    assert done.stdout.startswith("::warning file=a/warn.json,")
    assert not list(tmp_path.glob("*.sarif"))
    done, outputs = _run_step(tmp_path, paths="a", args="--ignore NN9 --strict", sarif="s.sarif")
    assert (outputs["exit-code"], done.stdout) == ("0", "")
    assert json.loads((tmp_path / "s.sarif").read_text("utf-8"))["runs"][0]["results"] == []
    done, outputs = _run_step(tmp_path, paths="missing.json", sarif="m.sarif")
    assert outputs["exit-code"] == "2"
    unreadable = "cannot read the file: No such file or directory"
    assert done.stdout == f"::error file=missing.json,title=NN010::{unreadable}\n"
