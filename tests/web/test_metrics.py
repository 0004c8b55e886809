"""/metrics: Prometheus text, read by prometheus-client's own parser; numbers from the
database at scrape time (the same counts as `paperboy runs status`); a bearer token or 401."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from emails.providers.base import EventType
from models import SendRun, session_scope
from tests.conftest import reset_caches
from tests.web.conftest import client
from tests.worker.delivery.test_guard import _event
from tests.worker.sending import outcomes, plan_run
from worker.delivery import events, runs

__all__ = ["client"]
TOKEN = "scrape-token-for-the-test"


def _scrape(client: TestClient) -> dict[tuple[str, tuple], float]:
    answer = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(answer.text)
        for s in family.samples
    }


@pytest.fixture
def scrape_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("METRICS_TOKEN", TOKEN)
    reset_caches()


def test_metrics_need_the_bearer_token(client: TestClient, monkeypatch) -> None:
    assert client.get("/metrics").status_code == 401  # no token configured: closed
    monkeypatch.setenv("METRICS_TOKEN", TOKEN)
    reset_caches()
    for header in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        refused = client.get("/metrics", headers=header)
        assert refused.status_code == 401 and "paperboy_" not in refused.text


def test_scraped_numbers_are_the_runs_own_counts(client: TestClient, scrape_token) -> None:
    run_id, planned = plan_run(4)
    assert outcomes(run_id, planned) == ["sent"] * 4
    with session_scope() as session:
        events.record(
            session,
            [
                _event(planned[0], EventType.bounced, 0),
                _event(planned[1], EventType.complained, 0),
                _event(planned[1], EventType.complained, 1),  # the same digest: counted once
            ],
        )
    metrics = _scrape(client)
    run = (("run", str(run_id)),)
    with session_scope() as session:
        c = runs.counts(session, session.get(SendRun, run_id))
    assert metrics[("paperboy_emails_sent_total", run)] == c.sent == 4
    assert metrics[("paperboy_emails_failed_total", run)] == c.failed == 0
    assert metrics[("paperboy_emails_bounced_total", run)] == c.bounced == 1
    assert metrics[("paperboy_emails_complained_total", run)] == 1
    assert metrics[("paperboy_run_progress_ratio", run)] == 1.0
    assert metrics[("paperboy_subscribers", (("status", "active"),))] == 2  # 2 now suppressed
    assert metrics[("paperboy_subscribers", (("status", "bounced"),))] == 1
    assert metrics[("paperboy_subscribers", (("status", "complained"),))] == 1
    assert metrics[("paperboy_send_latency_seconds", (("quantile", "0.5"),))] >= 0


def test_a_scrape_reads_the_database_now(client: TestClient, scrape_token) -> None:
    assert not any(name == "paperboy_emails_sent_total" for name, _ in _scrape(client))
    run_id, planned = plan_run(2)
    outcomes(run_id, planned)  # as any worker process would: only the database knows
    assert _scrape(client)[("paperboy_emails_sent_total", (("run", str(run_id)),))] == 2


def test_the_reapers_beat_and_the_queues_are_scraped_from_redis(
    client: TestClient, scrape_token, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from worker import tasks

    monkeypatch.setenv("REDIS_URL", redis_url)
    reset_caches()
    assert not any(name.startswith("paperboy_reaper") for name, _ in _scrape(client))
    before = time.time()
    tasks.reap_sends()  # what beat has a worker run every SEND_REAP_EVERY_SECONDS
    metrics = _scrape(client)
    assert metrics[("paperboy_reaper_last_beat_timestamp_seconds", ())] >= int(before)
    assert metrics[("paperboy_queue_depth", (("queue", "send"),))] == 0
