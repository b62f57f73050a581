"""The chapter's GraphQL documents in rtlab.chapter.documents are the book's text, verbatim."""

from __future__ import annotations

from pathlib import Path

import pytest

from rtlab.chapter import documents

SEED = Path(__file__).resolve().parents[3] / "shared" / "seed"
VERBATIM = [
    "GET_USER",
    "CREATE_POST",
    "ON_NEW_NOTIFICATION",
    "ON_NEW_MESSAGE",
    "NOTIFICATIONS_ANONYMOUS",
    "PRESENCE_ANONYMOUS",
]


@pytest.mark.parametrize("name", VERBATIM)
def test_document_is_in_the_chapter(name: str) -> None:
    chapters = sorted(SEED.glob("*.txt"))
    if not chapters:
        pytest.skip(f"the syllabus is not beside this checkout ({SEED})")
    text = "\n".join(p.read_text(encoding="utf-8") for p in chapters)
    assert getattr(documents, name).strip() in text


def test_the_corrections_are_not_the_chapter_text() -> None:
    assert "$limit: Int" in documents.GET_USER_PAGINATED
    assert "$limit: Int" not in documents.GET_USER
