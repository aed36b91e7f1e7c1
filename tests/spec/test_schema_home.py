"""The schema's `$id` names a file in the repository that pyproject.toml gives as the
project's home, so an editor, a `$schema` key or a SchemaStore entry and the package
metadata point at one place (docs/ci.md#editors)."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from nnspec.spec.schema import SCHEMA_FILE, SCHEMA_URL

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]


def test_the_schema_id_is_a_file_of_the_project_repository():
    urls = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]
    owner_repo = re.fullmatch(r"https://github\.com/([^/]+/[^/]+)", urls["Repository"])
    assert owner_repo is not None, urls["Repository"]
    expected = f"https://raw.githubusercontent.com/{owner_repo.group(1)}/main/schemas/{SCHEMA_FILE}"
    assert expected == SCHEMA_URL
    published = json.loads((ROOT / "schemas" / SCHEMA_FILE).read_text(encoding="utf-8"))
    assert published["$id"] == SCHEMA_URL
    assert (ROOT / "schemas" / SCHEMA_FILE).is_file()


def test_every_project_url_is_in_that_repository():
    urls = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]
    home = urls["Repository"]
    assert all(url == home or url.startswith(home + "/") for url in urls.values()), urls


def test_the_docs_name_the_same_id():
    assert SCHEMA_URL in (ROOT / "docs" / "ci.md").read_text(encoding="utf-8")
