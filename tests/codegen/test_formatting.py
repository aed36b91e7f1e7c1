"""Generated modules are already formatted: ``ruff format`` (ruff's defaults, as in a
repository that enforces a formatter) changes nothing, so ``nnspec compile --check``
still passes on a formatted module. Checked on every example under every option
combination and on random documents from `nnspec.testing`."""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

import nnspec
from nnspec.cli.main import main
from nnspec.testing import documents

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.json"))
RUFF = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
OPTIONS = [
    list(flags)
    for n in range(4)
    for flags in itertools.combinations(["--train", "--weights-file", "--no-self-test"], n)
]

pytestmark = pytest.mark.skipif(RUFF is None, reason="ruff is not installed")


def _unformatted(files: list[Path]) -> str:
    """ruff's diff for `files` under its default settings ('' when none)."""
    assert RUFF is not None
    done = subprocess.run(
        [RUFF, "format", "--isolated", "--no-cache", "--diff", *map(str, files)],
        capture_output=True,
        text=True,
    )
    assert done.returncode in (0, 1), done.stderr
    return done.stdout


def test_examples_under_every_option_set_are_ruff_formatted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    modules = []
    for example, options in itertools.product(EXAMPLES, OPTIONS):
        graph = nnspec.load(example)
        if "--train" in options and (graph.training is None or graph.training.loss_node is None):
            continue
        module = tmp_path / f"{example.stem}_{len(modules)}.py"
        assert main(["compile", str(example), "-o", str(module), *options]) == 0
        modules.append((example, module, options))
    assert len(modules) > 4 * len(EXAMPLES)
    assert _unformatted([m for _, m, _ in modules]) == ""
    # and so, once formatted, a module is still up to date
    subprocess.run([str(RUFF), "format", "--isolated", "--no-cache", str(tmp_path)], check=True)
    for example, module, options in modules[:: max(1, len(modules) // 12)]:
        assert main(["compile", str(example), "-o", str(module), *options, "--check"]) == 0
    capsys.readouterr()


@settings(
    max_examples=int(os.environ.get("NNSPEC_FORMAT_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(doc=documents(with_loss=True))
def test_random_documents_compile_to_formatted_modules(doc: dict) -> None:
    graph = nnspec.load(doc)
    params = dict(nnspec.Model(graph).params)
    trainable = graph.training is not None and graph.training.loss_node is not None
    with tempfile.TemporaryDirectory() as scratch:
        modules = []
        for train in (False, True) if trainable else (False,):
            modules.append(Path(scratch) / f"model_{train}.py")
            modules[-1].write_text(nnspec.compile(graph, params, train=train), encoding="utf-8")
        assert _unformatted(modules) == ""
