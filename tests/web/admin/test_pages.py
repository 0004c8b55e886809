"""The cockpit's pages: the dashboard and the run page show the counts `paperboy runs status`
shows, the guard's pause names its rate, subscribers are found, suppressed and exported."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from cli.main import app as cli
from emails.providers.base import EventType
from models import SendRun, Suppression, session_scope
from tests.worker.delivery.test_guard import _event
from tests.worker.sending import address, outcomes, plan_run
from worker.delivery import events, runs

runner = CliRunner()


def _sent_run(n: int = 4) -> int:
    run_id, planned = plan_run(n)
    assert outcomes(run_id, planned) == ["sent"] * n
    with session_scope() as session:
        events.record(session, [_event(planned[0], EventType.bounced, 0)])
    return run_id


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_the_dashboard_shows_the_runs_own_counts(admin, database: str, request) -> None:
    if database == "postgresql":
        request.getfixturevalue("production")
        from models import upgrade

        upgrade()
    client, _ = admin if database == "sqlite" else _signed_in_again(admin[0])
    run_id = _sent_run()
    page = client.get("/admin")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert page.text.count("<svg") == 2 and "<script" not in page.text
    with session_scope() as session:
        c = runs.counts(session, session.get(SendRun, run_id))
    assert (c.sent, c.bounced) == (4, 1)
    status = runner.invoke(cli, ["runs", "status", str(run_id)])
    assert "sent" in status.output and " 4 " in status.output
    assert f'<a href="/admin/runs/{run_id}">{run_id}</a>' in page.text
    assert '<td class="num">4 / 4</td>' in page.text
    run_page = client.get(f"/admin/runs/{run_id}").text
    assert '<tr><td>sent</td><td class="num">4</td></tr>' in run_page
    assert '<tr><td>bounced (after sending)</td><td class="num">1</td></tr>' in run_page


def _signed_in_again(client):
    """The admin fixture signed in on SQLite; the production database needs its own operator."""
    from tests.web.admin.conftest import csrf_of, operator_in_db, sign_in

    operator_in_db()
    sign_in(client)
    return client, csrf_of(client.get("/admin").text)


def test_the_run_page_names_the_rate_that_paused_it_and_resume_continues(
    admin, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.conftest import reset_caches

    monkeypatch.setenv("GUARD_MIN_SENDS", "2")
    reset_caches()
    client, csrf = admin
    run_id, planned = plan_run(6)
    assert outcomes(run_id, planned[:3]) == ["sent"] * 3
    with session_scope() as session:
        events.record(session, [_event(planned[0], EventType.bounced, 0)])
    page = client.get(f"/admin/runs/{run_id}").text
    assert "Paused: deliverability guard: hard-bounce rate 33.3% (1 of the last 3 sends)" in page
    assert "is paused: deliverability guard: hard-bounce rate" in client.get("/admin").text
    status = runner.invoke(cli, ["runs", "status", str(run_id)], env={"COLUMNS": "200"})
    assert "hard-bounce rate 33.3%" in status.output
    assert client.post(f"/admin/runs/{run_id}/resume", data={"csrf": csrf}).status_code == 303
    with session_scope() as session:
        c = runs.counts(session, session.get(SendRun, run_id))
    assert (c.state, c.sent) == ("done", 6)  # in-process: the resume sent the other three


def test_search_a_reader_suppress_them_and_export(admin) -> None:
    client, csrf = admin
    run_id, planned = plan_run(3)
    found = client.get("/admin/subscribers", params={"q": "READER00001"}).text
    assert address(1) in found and address(2) not in found
    sub_id = int(found.split(f'">{address(1)}</a>')[0].rsplit("/", 1)[1])
    reader = client.get(f"/admin/subscribers/{sub_id}").text
    assert "Status <strong>active</strong>" in reader and "digest" in reader.lower()
    client.post(f"/admin/subscribers/{sub_id}/suppress", data={"csrf": csrf})
    with session_scope() as session:
        row = session.exec(select(Suppression)).one()
    assert (row.email, row.reason) == (address(1), "operator")
    assert address(1) in client.get("/admin/subscribers").text  # the suppression list
    assert outcomes(run_id, planned) == ["sent", "skipped", "sent"]
    exported = client.get("/admin/subscribers/export")
    assert exported.text == runner.invoke(cli, ["subscribers", "export"]).stdout
    assert len([json.loads(line) for line in exported.text.splitlines()]) == 3


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_subscribers_over_time_follow_each_readers_status_changes(
    admin, database: str, request
) -> None:
    """A reader who unsubscribed two days ago counted active before then; a bounce dates from
    its suppression; a sign-up from today is pending today and absent before."""
    from datetime import timedelta

    from models import Subscriber, SubscriberStatus, utcnow
    from web.admin.dashboard import subscriber_series

    if database == "postgresql":
        request.getfixturevalue("production")
        from models import upgrade

        upgrade()
    now = utcnow()
    ago = lambda days: now - timedelta(days=days)  # noqa: E731
    with session_scope() as session:
        session.add_all(
            [
                Subscriber(
                    email="left@example.org",
                    status=SubscriberStatus.unsubscribed,
                    created_at=ago(5),
                    confirmed_at=ago(4),
                    unsubscribed_at=ago(2),
                ),
                Subscriber(
                    email="bounced@example.org",
                    status=SubscriberStatus.bounced,
                    created_at=ago(5),
                    confirmed_at=ago(5),
                ),
                Suppression(email="bounced@example.org", reason="bounce", created_at=ago(1)),
                Subscriber(email="new@example.org", created_at=now),
            ]
        )
    with session_scope() as session:
        days, series = subscriber_series(session, days=7)
    #            6 5  4  3  2  1  0 days ago
    assert series["pending"] == [0, 1, 0, 0, 0, 0, 1]
    assert series["active"] == [0, 1, 2, 2, 1, 0, 0]
    assert series["unsubscribed"] == [0, 0, 0, 0, 1, 1, 1]
    assert series["bounced"] == [0, 0, 0, 0, 0, 1, 1]
    assert days[-1] == now.date().isoformat()
