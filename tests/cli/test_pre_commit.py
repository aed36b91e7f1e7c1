"""The pre-commit hook, run by the real ``pre-commit`` in a throwaway git repository.

`test_hook_with_its_defaults` runs the hook exactly as `.pre-commit-hooks.yaml`
defines it (entry, file types, filters) as a local hook on this environment's
``nnspec``, so it needs no network; `test_hook_installed_by_pre_commit` lets
pre-commit install this checkout into its own environment, as users get it (about
half a minute with the package index; set NNSPEC_INSTALL_TESTS=1 to run it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT / ".pre-commit-hooks.yaml"
PRE_COMMIT = shutil.which("pre-commit", path=str(Path(sys.executable).parent))
BROKEN = """{
  "nnspec": "1",
  "inputs": {"x": {"shape": ["batch", 2]}},
  "nodes": [
    {"id": "hidden", "op": "dense", "units": 4},
    {"id": "out", "op": "dense", "units": 1, "inputs": ["hiden"]}
  ]
}
"""
GOOD = '{"nnspec": "1", "inputs": {"x": {"shape": [2]}}, "nodes": [{"op": "relu"}]}\n'
BROKEN_LINE = (
    "models/broken.json:6:57: NN202 node 'out' takes 'hiden', which is not an input, param "
    "or node; did you mean 'hidden'? (known: 'hidden', 'x') (at /nodes/1/inputs/0, ends at 6:64)"
)

pytestmark = pytest.mark.skipif(PRE_COMMIT is None, reason="pre-commit is not installed")


def _git(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=False, env=_env()
    )


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.org")
    env.update(GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.org")
    env.pop("GIT_DIR", None)
    return env


def _repository(root: Path, config: str) -> Path:
    """A git repository with a pre-commit config, a team's usual JSON files and the
    hook installed."""
    repo = root / "repo"
    (repo / "models").mkdir(parents=True)
    (repo / ".pre-commit-config.yaml").write_text(config, encoding="utf-8")
    (repo / "package.json").write_text('{"name": "app", "version": "1.0.0"}\n', "utf-8")
    (repo / ".vscode").mkdir()
    (repo / ".vscode" / "settings.json").write_text('{"editor.tabSize": 2}\n', "utf-8")
    (repo / "data.json").write_text("[1, 2, 3]\n", encoding="utf-8")
    assert _git(repo, "init", "-q").returncode == 0
    _git(repo, "add", ".")
    installed = subprocess.run(
        [str(PRE_COMMIT), "install"], cwd=repo, capture_output=True, text=True, env=_env()
    )
    assert installed.returncode == 0, installed.stderr
    return repo


def _commit(repo: Path, message: str) -> tuple[int, str]:
    """Exit code and output (git shows the hooks' output on stderr)."""
    done = _git(repo, "commit", "-q", "-m", message)
    return done.returncode, done.stdout + done.stderr


def _scenario(repo: Path) -> None:
    """Other JSON passes, a bad document fails the commit with located lines, a good
    one passes."""
    code, out = _commit(repo, "project files")  # JSON, but no documents
    assert code == 0, out
    assert "nnspec validate" in out and "Passed" in out

    (repo / "models" / "broken.json").write_text(BROKEN, encoding="utf-8")
    _git(repo, "add", "models/broken.json")
    code, out = _commit(repo, "a broken model")
    assert code == 1
    assert "Failed" in out and "- hook id: nnspec-validate" in out
    assert BROKEN_LINE in out.splitlines()
    assert "1 file checked: 0 valid, 1 invalid (1 error, 0 warnings)" in out
    assert "broken" not in _git(repo, "log", "--format=%s").stdout

    (repo / "models" / "broken.json").write_text(GOOD, encoding="utf-8")
    (repo / "models" / "net.nnspec.json").write_text(GOOD, encoding="utf-8")
    _git(repo, "add", "models")
    code, out = _commit(repo, "a good model")
    assert code == 0, out
    assert "nnspec validate" in out and "Passed" in out

    (repo / "notes.txt").write_text("no JSON here\n", encoding="utf-8")
    _git(repo, "add", "notes.txt")
    code, out = _commit(repo, "notes")
    assert code == 0 and "(no files to check)" in out


def _hook() -> dict[str, object]:
    [hook] = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    return hook


def test_manifest_matches_json_files_by_type_not_by_name() -> None:
    hook = _hook()
    assert hook["id"] == "nnspec-validate"
    assert hook["types"] == ["json"] and "files" not in hook
    assert str(hook["entry"]).split()[:3] == ["nnspec", "validate", "--only-nnspec"]


def test_hook_with_its_defaults(tmp_path: Path) -> None:
    hook = {**_hook(), "language": "system"}
    config = yaml.safe_dump({"repos": [{"repo": "local", "hooks": [hook]}]})
    _scenario(_repository(tmp_path, config))


@pytest.mark.skipif(
    not os.environ.get("NNSPEC_INSTALL_TESTS"), reason="installs nnspec; NNSPEC_INSTALL_TESTS=1"
)
def test_hook_installed_by_pre_commit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The hook as users get it: pre-commit clones this checkout (a snapshot with the
    working tree's changes) and pip-installs it into its own environment."""
    source = tmp_path / "nnspec"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".git", "*.egg-info", ".*venv*"))
    assert _git(source, "init", "-q").returncode == 0
    _git(source, "add", ".")
    assert _commit(source, "snapshot")[0] == 0
    rev = _git(source, "rev-parse", "HEAD").stdout.strip()
    config = yaml.safe_dump(
        {"repos": [{"repo": str(source), "rev": rev, "hooks": [{"id": "nnspec-validate"}]}]}
    )
    monkeypatch.setenv("PRE_COMMIT_HOME", str(tmp_path / "pre-commit-home"))
    _scenario(_repository(tmp_path, config))
