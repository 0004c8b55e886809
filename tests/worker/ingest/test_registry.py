"""The source registry: lookups, the beat entries it yields, and a toy source registered with one
line that runs the real fetch path (client, pages, store, run record) with DOI keys."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from cli.main import app
from config import Settings, get_settings
from emails.tokens import link, read_token
from models import Paper, SourceRun, catalog, session_scope, upgrade
from tests.worker.ingest.conftest import NOW, SINCE
from worker.app import fetch_schedule
from worker.ingest import registry
from worker.ingest.fetch import run_source
from worker.ingest.http import PoliteClient
from worker.ingest.page import SourcePage
from worker.ingest.source import Source, Window, doi_url

DOI = "10.1101/2024.01.01.123456"
LONG_DOI = "10.1101/" + "2024.01.01.1234567890." * 5  # past the 64 characters of arXiv days
LISTING = [
    {"id": DOI, "title": "A preprint keyed by its DOI", "abstract": "Words.", "upvotes": 3},
    {"id": DOI, "title": "Listed twice while the pages shifted"},
    {"id": LONG_DOI, "title": "A long DOI"},
]


def _toy_pages(client: PoliteClient, settings: Settings, window: Window) -> Iterator[SourcePage]:
    page = SourcePage.parse(f"since {window.since:%Y-%m-%d}", LISTING, dict)
    page.drop_duplicates(set())
    yield page


TOY = Source(
    name="toy",
    text_authority=False,
    link=doi_url,
    pages=_toy_pages,
    min_interval=lambda settings: 0.0,
    every_hours=lambda settings: 6.0,
)


@pytest.fixture
def toy(monkeypatch: pytest.MonkeyPatch) -> Source:
    """The one registry line a new source adds."""
    monkeypatch.setitem(registry.SOURCES, TOY.name, TOY)
    upgrade()
    return TOY


def _papers() -> dict[str, Paper]:
    with session_scope() as session:
        return {p.id: p for p in session.exec(select(Paper))}


def test_get_names_every_known_source_when_asked_for_an_unknown_one() -> None:
    known = "arxiv, hf, biorxiv, medrxiv"
    with pytest.raises(ValueError, match=f"unknown source 'ssrn'; expected one of {known}"):
        registry.get("ssrn")
    with pytest.raises(ValueError, match=f"expected one of {known}$"):
        registry.get("sample", fetched=True)  # loaded, never fetched
    assert registry.get("sample").text_authority and not registry.get("hf").text_authority


def test_the_choosable_sources_are_the_catalogs_offerings() -> None:
    """Preferences are checked against `models.catalog`; the registry must offer readers exactly
    those sources, with the same labels, taxonomies and defaults."""
    offered = {s.name: (s.label, s.taxonomy, s.chosen_by_default) for s in registry.choosable()}
    assert offered == {
        o.name: (o.label, o.taxonomy, o.chosen_by_default) for o in catalog.OFFERINGS.values()
    }


def test_models_import_nothing_that_speaks_http() -> None:
    """The layering: the models know nothing of the worker, the web or HTTP clients, even
    while they check a reader's categories and sources."""
    code = (
        "import sys, models.reasons; from models.subscribers import Preferences; "
        "p = Preferences(categories=['CS.lg', 'Neuroscience'], sources=['arxiv', 'biorxiv']); "
        "assert p.categories == ['cs.LG', 'neuroscience'], p; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'worker', 'web', 'httpx', "
        "'urllib3', 'celery', 'fastapi'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_source_that_fetches_says_how_politely_and_how_often() -> None:
    with pytest.raises(ValueError, match="go together"):
        Source(name="half", text_authority=False, pages=_toy_pages)


def test_beat_has_one_fetch_entry_per_fetched_source(toy: Source) -> None:
    beat = fetch_schedule(get_settings())
    assert set(beat) == {"fetch-arxiv", "fetch-hf", "fetch-biorxiv", "fetch-medrxiv", "fetch-toy"}
    assert beat["fetch-toy"] == {
        "task": "paperboy.fetch_source",
        "schedule": 6 * 3600,
        "args": ("toy",),
    }


def test_doi_url_links_the_resolver() -> None:
    assert doi_url(DOI) == "https://doi.org/10.1101/2024.01.01.123456"
    assert doi_url("10.1000/a b#c") == "https://doi.org/10.1000/a%20b%23c"


def test_a_registered_toy_source_runs_the_real_fetch_path_with_doi_keys(toy: Source) -> None:
    first = run_source("toy", get_settings(), since=SINCE, now=NOW)
    assert (first.status, first.new, first.skipped) == ("ok", 2, 1), first.error
    assert first.skip_reasons == {"duplicate in listing": 1}
    papers = _papers()
    assert papers[DOI].abs_url == "https://doi.org/10.1101/2024.01.01.123456"  # its link
    assert papers[LONG_DOI].abs_url == doi_url(LONG_DOI) and len(LONG_DOI) > 64
    assert papers[DOI].first_seen_by.keys() == {"toy"}
    again = run_source("toy", get_settings(), since=SINCE, now=NOW)
    assert (again.new, again.updated) == (0, 0) and _papers().keys() == papers.keys()
    token = link(
        "https://p.example", "s", "feedback", subscriber_id=1, version=1, paper_id=DOI, vote=1
    ).rsplit("/")[-1]
    assert read_token("s", "feedback", token).paper_id == DOI  # a vote names the DOI back


def test_paperboy_fetch_source_toy_fetches_only_the_toy(toy: Source) -> None:
    result = CliRunner().invoke(app, ["fetch", "--source", "toy", "--since", "2026-11-17"])
    assert result.exit_code == 0, result.output
    assert "toy: ok" in result.output and "2 new" in result.output
    with session_scope() as session:
        assert [r.source for r in session.exec(select(SourceRun))] == ["toy"]
    unknown = CliRunner().invoke(app, ["fetch", "--source", "bio"], env={"COLUMNS": "200"})
    assert (
        unknown.exit_code == 2
        and "expected one of arxiv, hf, biorxiv, medrxiv, toy" in unknown.output
    )
