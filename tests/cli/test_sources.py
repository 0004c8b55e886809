"""`paperboy fetch`, `paperboy sources status`, `demo --online` and the Celery task, for real."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cli.main import app
from config.celery import ROUTES
from tests.conftest import reset_caches
from tests.worker.ingest.conftest import NOW
from tests.worker.ingest.fake_cshl import preprint
from worker.ingest import fetch

runner = CliRunner()


@pytest.fixture
def no_waiting(providers, monkeypatch):
    """The CLI sleeps for real: no spacing needed against the local server, and a fixed now."""
    monkeypatch.setenv("ARXIV_MIN_INTERVAL_SECONDS", "0")
    monkeypatch.setenv("HF_MIN_INTERVAL_SECONDS", "0")
    monkeypatch.setenv("CSHL_MIN_INTERVAL_SECONDS", "0")
    monkeypatch.setenv("FETCH_BACKOFF_SECONDS", "0")
    monkeypatch.setattr(fetch, "utcnow", lambda: NOW)
    reset_caches()
    return providers


def test_fetch_ingests_every_source_and_a_second_run_reports_zero_new(no_waiting) -> None:
    no_waiting.preprints["biorxiv"] = [preprint("10.1101/2026.11.18.600001")]
    first = runner.invoke(app, ["fetch", "--since", "2026-11-17"])
    assert first.exit_code == 0, first.output
    assert "arxiv: ok" in first.output and "28 new" in first.output
    assert "hf: ok" in first.output and "36 new" in first.output
    assert "biorxiv: ok" in first.output and "1 fetched, 1 new" in first.output
    assert "medrxiv: ok" in first.output and "0 fetched, 0 new" in first.output
    scores = [
        float(line.split()[1].rstrip(":"))
        for line in first.output.splitlines()
        if line.startswith("trending ")
    ]
    assert len(scores) == 3 and scores == sorted(scores, reverse=True)
    second = runner.invoke(app, ["fetch", "--since", "2026-11-17"])
    assert second.exit_code == 0, second.output
    assert second.output.count(" 0 new, 0 updated") == 4
    status = runner.invoke(app, ["sources", "status"], env={"COLUMNS": "80"})
    assert status.exit_code == 0, status.output
    calendars, runs = status.output.split("Last source runs (UTC)")
    assert "…" not in calendars and all(len(line) <= 80 for line in calendars.splitlines())
    lines = runs.splitlines()
    assert lines[1].split() == ["run", "source", "started", "status", "fetched", "new",
                                "updated", "skipped", "secs"]  # fmt: skip
    rows = [line.split() for line in lines[2:10]]
    assert sorted(r[1] for r in rows) == ["arxiv", "arxiv", "biorxiv", "biorxiv", "hf", "hf",
                                          "medrxiv", "medrxiv"]  # fmt: skip
    assert all(r[4] == "ok" for r in rows)


def test_fetch_one_source_exits_nonzero_and_says_why_when_it_fails(no_waiting) -> None:
    no_waiting.respond("daily_papers", 500, body=b"Internal Server Error")
    result = runner.invoke(app, ["fetch", "--source", "hf", "--since", "2026-11-20"])
    assert result.exit_code == 1
    assert "hf error:" in result.output and "HTTP 500" in result.output
    assert not no_waiting.hits("/api/query")  # only the source asked for


def test_fetch_rejects_a_since_that_is_not_a_date(no_waiting) -> None:
    result = runner.invoke(app, ["fetch", "--since", "last tuesday"])
    assert result.exit_code == 2 and "not a date" in result.output


def test_demo_online_uses_the_fetched_papers(no_waiting) -> None:
    result = runner.invoke(app, ["demo", "--online"])
    assert result.exit_code == 0, result.output
    assert "fetched papers:" in result.output and "sample-" not in result.output
    assert any("/details/biorxiv/" in path for path, _, _ in no_waiting.requests)
    assert not any("sample" in path for path, _, _ in no_waiting.requests)


def test_fetch_source_task_is_routed_scheduled_and_records_a_run(no_waiting) -> None:
    from config import get_settings
    from models import upgrade
    from worker import tasks
    from worker.app import app as celery_app
    from worker.app import fetch_schedule

    upgrade()
    beat = fetch_schedule(get_settings())
    assert beat.keys() <= celery_app.conf.beat_schedule.keys()
    assert beat["fetch-arxiv"]["args"] == ("arxiv",) and beat["fetch-hf"]["args"] == ("hf",)
    assert beat["fetch-arxiv"]["schedule"] == get_settings().arxiv_fetch_every_hours * 3600
    assert ROUTES["paperboy.fetch_source"] == {"queue": "ingest"}
    result = tasks.fetch_source.delay("hf", "2026-11-20").get()
    assert result["status"] == "ok" and result["new"] > 0


def test_sources_status_shows_each_calendar_and_flags_a_silent_source() -> None:
    from datetime import timedelta

    from models import SourceRun, session_scope, upgrade, utcnow

    upgrade()
    with session_scope() as session:
        long_ago = utcnow() - timedelta(days=6)  # no calendar is closed this long
        session.add(SourceRun(source="arxiv", status="ok", new=5, finished_at=long_ago))
        session.add(SourceRun(source="medrxiv", status="ok", new=2, finished_at=utcnow()))
    result = runner.invoke(app, ["sources", "status"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    calendars = result.output.split("Last source runs")[0].splitlines()
    rows = {line.split()[0]: line for line in calendars[2:] if line.strip()}
    assert "SILENT since" in rows["arxiv"]
    assert "never" in rows["biorxiv"] and rows["biorxiv"].rstrip().endswith("ok")
    assert "SILENT" not in rows["medrxiv"] and rows["medrxiv"].rstrip().endswith("ok")
