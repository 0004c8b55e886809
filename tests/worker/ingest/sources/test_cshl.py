"""bioRxiv and medRxiv through the real fetch path against the local details API stand-in."""

from __future__ import annotations

import pytest
from sqlmodel import select

from config import get_settings
from models import Paper, session_scope
from tests.worker.ingest.conftest import NOW, SINCE
from tests.worker.ingest.fake_cshl import PAGE, preprint
from worker.ingest.fetch import run_source

DOI = "10.1101/2026.11.18.600001"


def _run(source: str, clock):
    return run_source(source, get_settings(), since=SINCE, now=NOW, clock=clock, sleep=clock.sleep)


def _papers() -> dict[str, Paper]:
    with session_scope() as session:
        return {p.id: p for p in session.exec(select(Paper))}


def test_two_versions_of_one_doi_are_one_paper_with_the_latest_text(db, providers, clock) -> None:
    newer = preprint(DOI, 2, date="2026-11-19", authors="Smith, J.; Doe, A. B.; New, C.")
    newer["published"] = "10.1038/s41586-026-00001-x"
    # the newer version listed first: the older one after it must not win
    providers.preprints["biorxiv"] = [newer, preprint(DOI, 1)]
    run = _run("biorxiv", clock)
    assert (run.status, run.fetched, run.new, run.skipped) == ("ok", 2, 1, 0), run.error
    paper = _papers()[DOI]
    assert paper.version == 2 and paper.title == f"Title of {DOI} v2"
    assert paper.abstract == f"Abstract of {DOI} version 2."
    assert paper.authors == ["Smith, J.", "Doe, A. B.", "New, C."]
    assert paper.categories == ["neuroscience"]
    assert paper.abs_url == f"https://doi.org/{DOI}"  # the DOI's page
    assert paper.journal_doi == "10.1038/s41586-026-00001-x"
    assert paper.first_seen_by.keys() == {"biorxiv"}
    first_seen = paper.first_seen

    providers.preprints["biorxiv"].append(preprint(DOI, 3, date="2026-11-20", published="NA"))
    again = _run("biorxiv", clock)
    assert (again.new, again.updated) == (0, 1)
    paper = _papers()[DOI]
    assert paper.version == 3 and paper.first_seen == first_seen  # revised, not new again
    assert paper.journal_doi == "10.1038/s41586-026-00001-x"  # a later "NA" blanks nothing


def test_pages_follow_the_cursor_and_a_refetch_adds_nothing(db, providers, clock) -> None:
    dois = [f"10.1101/2026.11.18.{600100 + n}" for n in range(PAGE + 30)]
    providers.preprints["medrxiv"] = [preprint(d, server="medrxiv") for d in dois]
    providers.preprints["biorxiv"] = [preprint(DOI)]  # another server's: never listed here
    run = _run("medrxiv", clock)
    assert (run.status, run.fetched, run.new) == ("ok", PAGE + 30, PAGE + 30), run.error
    cursors = [path.rsplit("/", 1)[1] for path, _, _ in providers.requests]
    assert cursors == ["0", str(PAGE)]
    assert all("/details/medrxiv/2026-11-17/2026-11-21/" in p for p, _, _ in providers.requests)
    assert set(_papers()) == set(dois)
    again = _run("medrxiv", clock)
    assert (again.status, again.new, again.updated) == ("ok", 0, 0)
    assert len(_papers()) == PAGE + 30


def test_a_malformed_record_is_skipped_with_its_reason(db, providers, clock) -> None:
    providers.preprints["biorxiv"] = [
        preprint(DOI),
        preprint("not-a-doi"),
        "a string, not a record",
        preprint("10.1101/2026.11.18.600002", version="two"),
        preprint("10.1101/2026.11.18.600003", title=None),
        preprint("10.1101/2026.11.18.600004", title="x\x00" * 60_000),  # cleaned and capped
    ]
    run = _run("biorxiv", clock)
    assert run.status == "ok" and run.new == 2, run.error
    assert run.skip_reasons == {
        "missing or unrecognized DOI": 1,
        "record is not an object": 1,
        "unreadable date or version": 1,
        "missing title": 1,
    }
    capped = _papers()["10.1101/2026.11.18.600004"]
    assert "\x00" not in capped.title and len(capped.title) == 1_000


def test_an_empty_interval_is_a_fine_empty_run(db, providers, clock) -> None:
    run = _run("biorxiv", clock)
    assert (run.status, run.fetched, run.new, run.error) == ("ok", 0, 0, None)
    assert len(providers.requests) == 1


def test_a_5xx_is_retried_then_the_page_is_read(db, providers, clock) -> None:
    providers.preprints["biorxiv"] = [preprint(DOI)]
    providers.respond("/details/biorxiv/", 503, body=b"busy", times=2)
    run = _run("biorxiv", clock)
    assert (run.status, run.new) == ("ok", 1), run.error
    assert len(providers.requests) == 3 and clock.sleeps  # two waits, then the answer


@pytest.mark.parametrize("body", [b"<html>maintenance</html>", b'{"collection": []}'])
def test_an_answer_not_in_the_documented_shape_is_a_clear_error(db, providers, clock, body) -> None:
    providers.respond("/details/biorxiv/", 200, body=body)
    run = _run("biorxiv", clock)
    assert run.status == "failed"
    assert run.error.startswith("biorxiv: 2026-11-17/2026-11-21 cursor=0: ")
    assert ("not JSON" in run.error) or ("no messages[0]" in run.error)
