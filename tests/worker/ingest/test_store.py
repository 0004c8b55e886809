"""Merge rules: one row per paper, arXiv owns the text, HF adds signals, reruns change nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import select

from models import Paper, session_scope, upgrade
from worker.ingest.store import clean_text, upsert_papers

ARXIV = {
    "id": "2611.00001",
    "version": 2,
    "title": "Attention  Is\n  All You Need",
    "abstract": "The dominant sequence\n  transduction models...",
    "authors": ["Ashish Vaswani", "Noam Shazeer"],
    "categories": ["cs.CL", "cs.LG"],
    "published": datetime(2026, 11, 19, 17, 0, tzinfo=UTC),
    "abs_url": "https://arxiv.org/abs/2611.00001v2",
    "comment": "15 pages",
}
HF = {
    "id": "2611.00001",
    "title": "Attention is all you need (HF spelling)",
    "abstract": "HF's copy of the abstract",
    "authors": ["A. Vaswani"],
    "upvotes": 40,
    "num_comments": 2,
    "github_repo": "https://github.com/example/transformer",
    "ai_summary": "Transformers replace recurrence with attention.",
    "ai_keywords": ["attention", "transformer"],
    "hf_submitted_at": "2026-11-20T08:00:00.000Z",
    "published": "2026-11-19T00:00:00.000Z",
}


@pytest.fixture
def migrated():
    upgrade()


def _ingest(records: list[dict], source: str):
    with session_scope() as session:
        return upsert_papers(session, records, source)


def _paper(pid: str = "2611.00001") -> Paper:
    with session_scope() as session:
        return session.get(Paper, pid)


@pytest.mark.parametrize("order", [("arxiv", "hf"), ("hf", "arxiv")])
def test_upsert_merges_both_sources_into_one_row_whatever_the_order(migrated, order) -> None:
    records = {"arxiv": ARXIV, "hf": HF}
    first = _ingest([records[order[0]]], order[0])
    second = _ingest([records[order[1]]], order[1])
    assert (first.new, second.new, second.updated) == (1, 0, 1)
    with session_scope() as session:
        assert len(session.exec(select(Paper)).all()) == 1
    p = _paper()
    assert p.title == "Attention Is All You Need"  # arXiv wins, whitespace collapsed
    assert p.abstract == "The dominant sequence transduction models..."
    assert p.authors == ["Ashish Vaswani", "Noam Shazeer"]
    assert p.categories == ["cs.CL", "cs.LG"] and p.version == 2
    assert p.published == datetime(2026, 11, 19, 17, 0, tzinfo=UTC)
    assert (p.upvotes, p.num_comments) == (40, 2)  # HF adds the signals
    assert p.github_repo == HF["github_repo"] and p.ai_keywords == ["attention", "transformer"]
    assert p.hf_submitted_at == datetime(2026, 11, 20, 8, tzinfo=UTC)
    assert set(p.first_seen_by) == {"arxiv", "hf"}


def test_upsert_keeps_first_seen_times_and_raises_signals_only_upwards(migrated) -> None:
    _ingest([ARXIV], "arxiv")
    _ingest([HF], "hf")
    before = _paper()
    counts = _ingest([{**HF, "upvotes": 55, "num_comments": 3}], "hf")
    assert (counts.new, counts.updated) == (0, 1)
    later = _paper()
    assert later.upvotes == 55 and later.num_comments == 3
    assert later.first_seen_by == before.first_seen_by and later.first_seen == before.first_seen
    stale = _ingest([{**HF, "upvotes": 12, "hf_submitted_at": "2026-11-21T08:00:00Z"}], "hf")
    assert stale.updated == 0  # a stale listing lowers nothing, the first submission time stays
    assert _paper().upvotes == 55
    assert _paper().hf_submitted_at == datetime(2026, 11, 20, 8, tzinfo=UTC)


def test_upsert_is_idempotent(migrated) -> None:
    assert _ingest([ARXIV], "arxiv").new == 1
    assert _ingest([HF], "hf").updated == 1
    stored = _paper().model_dump()
    for record, source in ((ARXIV, "arxiv"), (HF, "hf")):
        again = _ingest([record], source)
        assert (again.fetched, again.new, again.updated, again.skipped) == (1, 0, 0, 0)
    assert _paper().model_dump() == stored


def test_upsert_lets_hf_text_stand_until_arxiv_sees_the_paper(migrated) -> None:
    _ingest([HF], "hf")
    assert _paper().title == HF["title"]
    _ingest([{**HF, "title": "A corrected HF title"}], "hf")
    assert _paper().title == "A corrected HF title"
    _ingest([ARXIV], "arxiv")
    _ingest([{**HF, "title": "HF again"}], "hf")
    assert _paper().title == "Attention Is All You Need"


def test_upsert_counts_duplicates_within_one_batch_once(migrated) -> None:
    counts = _ingest([ARXIV, {**ARXIV, "version": 3}], "arxiv")
    assert (counts.fetched, counts.new, counts.updated) == (2, 1, 0)
    assert _paper().version == 3


def test_upsert_skips_bad_records_with_reasons_and_keeps_the_rest(migrated) -> None:
    counts = _ingest(
        [
            ARXIV,
            {"id": "", "title": "no id"},
            {"id": "2611.00009", "title": "   "},
            {"id": "2611.00010", "title": "<b></b>"},
            {"id": "2611.00011", "title": "Gone", "comment": "This paper has been withdrawn"},
            {"id": "2611.00012", "title": "T", "published": "2026-11-19T10:00:00"},
            {"id": "2611.00013", "title": "T", "published": "not a date"},
            {"id": "x" * 129, "title": "T"},  # over MAX_ID
        ],
        "arxiv",
    )
    assert counts.new == 1 and counts.skipped == 7
    assert counts.skip_reasons == {
        "missing id": 1,
        "missing title": 2,
        "withdrawn": 1,
        "time without a zone": 1,
        "unreadable published": 1,
        "id too long": 1,
    }


def test_upsert_strips_markup_and_keeps_latex(migrated) -> None:
    record = {
        "id": "2611.00020",
        "title": "Fast <i>Sparse</i> $\\mathcal{O}(n)$ Attention"
        '<script>alert("x")</script> &amp; $a<b$',
        "abstract": "We show <img src=x onerror=alert(1)> that $x^2 < y$ holds.",
        "authors": ["<b>Ada</b> Lovelace"],
    }
    _ingest([record], "arxiv")
    p = _paper("2611.00020")
    assert p.title == "Fast Sparse $\\mathcal{O}(n)$ Attention & $a<b$"
    assert p.abstract == "We show that $x^2 < y$ holds."
    assert p.authors == ["Ada Lovelace"]


def test_clean_text_leaves_comparisons_alone() -> None:
    assert clean_text("if a < b and c > d") == "if a < b and c > d"
    assert clean_text("<STYLE>p{}</STYLE>Title") == "Title"
