"""The catalog documents itself inside the repository: every "providers.md §N" the code cites is a
section of docs/providers.md, and every vendor's documentation link is one the catalog keeps."""

from __future__ import annotations

import re
from pathlib import Path

from banjia.catalog import load_catalog

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "providers.md"
CITE = re.compile(r"providers\.md §(\d+[a-z]?)")


def sections() -> set[str]:
    heads = re.findall(r"^#{2,3} (\d+[a-z]?)\. ", DOC.read_text(encoding="utf-8"), re.MULTILINE)
    return set(heads)


def test_the_repository_contains_providers_md() -> None:
    assert DOC.is_file()


def test_every_section_the_code_cites_exists() -> None:
    known = sections()
    cited: dict[str, list[str]] = {}
    for path in [*ROOT.joinpath("src").rglob("*.py"), *ROOT.joinpath("tests").rglob("*.py"),
                 *ROOT.joinpath("src").rglob("*.yaml")]:
        for ref in CITE.findall(path.read_text(encoding="utf-8")):
            cited.setdefault(ref, []).append(str(path.relative_to(ROOT)))
    assert cited, "nothing cites providers.md any more: drop this test"
    missing = {ref: paths for ref, paths in cited.items() if ref not in known}
    assert not missing


def test_every_catalog_vendor_has_a_section_linking_its_docs() -> None:
    text = DOC.read_text(encoding="utf-8")
    for vendor in load_catalog().vendors.values():
        if vendor.same_as is None and vendor.type not in ("local", "openai"):
            assert vendor.docs is not None and vendor.docs.rstrip("/") in text, vendor.type
