"""The invalid-document corpus: one file per kind of mistake, with its exact output.

Each ``tests/spec/invalid/<CODE>-<mistake>.json`` (raw bytes, so broken encodings
and syntax are representable) has a sibling ``.expected`` holding the exact lines
of ``nnspec validate --format text``, run from the corpus folder. Weights files
(binary) are written by the `corpus_dir` fixture into a temporary copy.

After an intended change of messages, regenerate with
``NNSPEC_UPDATE_CORPUS=1 pytest tests/spec/test_corpus.py`` and review the diff.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from nnspec.cli.main import main
from nnspec.errors import CODES

CORPUS = Path(__file__).parent / "invalid"
DOCUMENTS = sorted(CORPUS.glob("*.json"))
UPDATE = bool(os.environ.get("NNSPEC_UPDATE_CORPUS"))

# Codes no document can trigger through `nnspec validate`, each with the reason.
UNREACHABLE: dict[str, str] = {
    "NN010": "an unreadable file has no content to keep; tests/cli/test_validate_inputs.py",
    "NN011": "an internal error is a bug; tests/cli/test_validate_inputs.py provokes one",
    **{
        code: "raised when an ONNX model is imported (tests/onnx), never by validate"
        for code in CODES
        if code.startswith("NN7")
    },
}

# The weights files the corpus documents name, as arrays to save with numpy.savez.
WEIGHTS: dict[str, Callable[[], dict[str, np.ndarray]]] = {
    "pickled.weights.npz": lambda: {"hidden.W": np.array([{"a": 1}], dtype=object)},
    "wrong-shape.weights.npz": lambda: {"hidden.W": np.zeros((4, 2))},
    "extra-array.weights.npz": lambda: {"hidden.W": np.zeros((2, 4)), "hidden.V": np.zeros(4)},
    "not-finite.weights.npz": lambda: {"out.b": np.array([np.inf])},
    "text.weights.npz": lambda: {"out.b": np.array(["one"])},
}

_LINE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+):(?P<col>\d+): (?:warning )?(?P<code>NN\d{3}) ")


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the corpus with its weights files, inside a parent folder that
    documents may try (and must fail) to escape into."""
    folder = tmp_path_factory.mktemp("corpus") / "invalid"
    shutil.copytree(CORPUS, folder)
    for name, arrays in WEIGHTS.items():
        np.savez(folder / name, **arrays())
    return folder


def _run(document: Path, folder: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        code = main(["validate", "--format", "text", document.name])
    finally:
        os.chdir(cwd)
    return code, capsys.readouterr().out


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.stem)
def test_document_gives_its_expected_output(
    document: Path, corpus_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exit_code, out = _run(document, corpus_dir, capsys)
    expected = document.with_suffix(".expected")
    if UPDATE:
        expected.write_text(out, encoding="utf-8", newline="\n")
    assert out == expected.read_text(encoding="utf-8")
    lines = out.splitlines()
    assert lines, "every corpus document has at least one problem"
    code = document.name[:5]
    for line in lines:
        match = _LINE.match(line)
        assert match, f"not file:line:col: CODE ...: {line}"
        assert match["file"] == document.name
        assert match["code"] == code, "one mistake gives problems of one code"
    assert exit_code == (1 if CODES[code].severity == "error" else 0)


def test_every_document_has_an_expected_file() -> None:
    assert len(DOCUMENTS) >= 40
    expected = {p.stem for p in CORPUS.glob("*.expected")}
    assert expected == {p.stem for p in DOCUMENTS}


def test_every_reachable_code_has_a_document() -> None:
    covered = {p.name[:5] for p in DOCUMENTS}
    assert covered <= set(CODES)
    assert set(CODES) - set(UNREACHABLE) == covered
