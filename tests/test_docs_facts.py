"""The documents users audit from are checked against the repository and the code (issue 28): every link and
every named document resolves in a clean clone, and stated rules match the code that applies them."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
NAMED_DOCUMENT = re.compile(r"(?<![\w/.-])([A-Za-z][\w-]*\.md)\b")


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_every_relative_link_resolves_in_the_repository(document: Path) -> None:
    text = document.read_text(encoding="utf-8")
    missing = [
        target
        for target in LINK.findall(text)
        if not target.startswith(("http://", "https://", "mailto:")) and not (document.parent / target).exists()
    ]
    assert missing == [], f"{document.name} links to files a clean clone lacks: {missing}"


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_every_document_named_in_the_text_exists(document: Path) -> None:
    """A bare `comparisons.md` named in prose (it lived outside the repository) sends a reader nowhere. Names of
    files the commands write (``report.md``) are outputs, not documents."""
    text = document.read_text(encoding="utf-8")
    known = {path.name for path in ROOT.glob("*.md")} | {path.name for path in (ROOT / "docs").glob("*.md")}
    known |= {path.name for path in (ROOT / "bench").glob("*.md")} | {
        path.name for path in (ROOT / "tests").glob("*.md")
    }
    written = {
        name
        for source in (ROOT / "reoffend").rglob("*.py")
        for name in re.findall(r"[\"']([\w-]+\.md)[\"']", source.read_text(encoding="utf-8"))
    }
    unknown = sorted({name for name in NAMED_DOCUMENT.findall(text) if name not in known | written})
    assert unknown == [], f"{document.name} names documents that do not exist: {unknown}"


def test_adjusted_fail_unless_significant_is_documented_as_the_rule_the_code_applies() -> None:
    """The code asks both measures (binary and reoffences per offender) after the adjustment; the bulletin's
    docs once said the binary measure only."""
    from reoffend.compare.adjusted import AdjustedResult

    source = inspect.getsource(AdjustedResult.all_significant)
    assert "binary_significant_adjusted" in source and "reoffences_per_offender_significant_adjusted" in source
    bulletin = (ROOT / "docs" / "bulletin.md").read_text(encoding="utf-8")
    paragraph = bulletin[bulletin.index("`[comparisons.adjusted]` (the national payment mechanism") :]
    paragraph = paragraph[: paragraph.index("\n\n")]
    assert "both measures" in paragraph and "binary measure)" not in paragraph
