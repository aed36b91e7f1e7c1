"""Running a benchmark script the way a developer does, from the checkout's `src/`."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def run_quick() -> Callable[[Path, Path, int], subprocess.CompletedProcess]:
    """Run `script --quick --out OUT` with this checkout's nnspec; the finished process."""

    def run(script: Path, out: Path, timeout: int) -> subprocess.CompletedProcess:
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
        }
        return subprocess.run(
            [sys.executable, str(script), "--quick", "--out", str(out)],
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout,
        )

    return run
