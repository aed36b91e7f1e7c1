"""The published schema and the links to it: an https ``$id``, examples whose
``"$schema"`` finds the shipped file, and ``"$schema"`` kept true when a command
writes a document into another folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nnspec.cli.main import main
from nnspec.spec.links import rebase_link, rebase_schema_link
from nnspec.spec.schema import SCHEMA_URL

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "schemas" / "nnspec-1.schema.json"


def test_schema_id_is_an_https_url_naming_the_file() -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert schema["$id"] == SCHEMA_URL
    assert SCHEMA_URL.startswith("https://") and SCHEMA_URL.endswith("/schemas/" + SCHEMA.name)


def test_example_schema_links_resolve_in_checkout_and_wheel() -> None:
    links = {
        example: json.loads(example.read_text(encoding="utf-8")).get("$schema")
        for example in sorted((ROOT / "examples").glob("*.json"))
    }
    linked = {example: link for example, link in links.items() if link is not None}
    assert linked, "some example shows the $schema key"
    for example, link in linked.items():
        # the wheel ships examples/ and schemas/ side by side (nnspec/examples, nnspec/schemas)
        assert (example.parent / link).resolve() == SCHEMA.resolve(), example.name


@pytest.mark.parametrize(
    ("link", "source", "target", "expected"),
    [
        ("../schemas/s.json", "models", "models", "../schemas/s.json"),
        ("../schemas/s.json", "models", "out/trained", "../../schemas/s.json"),
        ("s.json", "a", "a/b", "../s.json"),
        ("./s.json#/$defs/node", "a", "b", "../a/s.json#/$defs/node"),
        ("sub/s.json", "a", ".", "a/sub/s.json"),
        (SCHEMA_URL, "a", "b", SCHEMA_URL),
        ("file:///srv/s.json", "a", "b", "file:///srv/s.json"),
        ("/srv/s.json", "a", "b", "/srv/s.json"),
        ("#/definitions", "a", "b", "#/definitions"),
        ("", "a", "b", ""),
    ],
)
def test_rebase_link(link: str, source: str, target: str, expected: str, tmp_path: Path) -> None:
    assert rebase_link(link, tmp_path / source, tmp_path / target) == expected


def test_rebase_leaves_the_rest_and_non_strings_alone() -> None:
    doc = {"$schema": 3, "nnspec": "1"}
    assert rebase_schema_link(doc, "a", "b") == doc
    rebased = rebase_schema_link({"$schema": "s.json", "x": [1]}, "a", "b")
    assert rebased == {"$schema": "../a/s.json", "x": [1]}


def test_train_rewrites_a_relative_schema_link(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / SCHEMA.name).write_text(SCHEMA.read_text("utf-8"), "utf-8")
    (tmp_path / "models").mkdir()
    document = json.loads((ROOT / "examples" / "xor.json").read_text(encoding="utf-8"))
    (tmp_path / "models" / "xor.json").write_text(json.dumps(document), encoding="utf-8")
    assert main(["data", "xor", "-o", "xor.npz", "--n", "40"]) == 0
    (tmp_path / "runs" / "today").mkdir(parents=True)
    for out in ("models/again.json", "runs/today/xor.json", "xor.json"):
        code = main(["train", "models/xor.json", "-d", "xor.npz", "-o", out, "--epochs", "1", "-q"])
        assert code == 0, capsys.readouterr().err
        link = json.loads((tmp_path / out).read_text(encoding="utf-8"))["$schema"]
        assert (tmp_path / out).parent.joinpath(link).resolve() == (
            tmp_path / "schemas" / SCHEMA.name
        ).resolve(), (out, link)
    assert json.loads((tmp_path / "models/again.json").read_text("utf-8"))["$schema"] == (
        "../schemas/nnspec-1.schema.json"
    )
