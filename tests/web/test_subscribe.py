"""Double opt-in through the real app: form -> confirm email in the outbox -> link -> button ->
welcome; signing up again and "email me my link" always lead back in; abuse is limited."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from models import (
    Frequency,
    Subscriber,
    SubscriberStatus,
    Suppression,
    session_scope,
    subscribers,
    utcnow,
)
from tests.web.conftest import (
    active_subscriber,
    celery_broker,
    closed_port,
    link_in,
    notices,
    path_of,
    token,
)
from web.app import app
from web.ratelimit import counter_for
from web.subscribe import first_digest_line


def _subscriber(address: str) -> Subscriber | None:
    with session_scope() as session:
        return subscribers.find(session, address)


def _clear_outbox(home: Path) -> None:
    for path in (home / "outbox").glob("*.eml"):
        path.unlink()


def test_subscribe_then_confirm_button_activates_and_sends_welcome(
    client: TestClient, paperboy_home: Path
) -> None:
    resp = client.post(
        "/subscribe",
        data={
            "email": " New.Reader@Example.ORG ",
            "interests": "diffusion models",
            "categories": ["cs.CV", "cs.LG"],
            "frequency": "weekly",
            "timezone": "Asia/Tokyo",
        },
    )
    assert resp.status_code == 200
    assert "Check your inbox" in resp.text
    sub = _subscriber("new.reader@example.org")
    assert sub.status == SubscriberStatus.pending
    assert (sub.interests, sub.categories, sub.frequency, sub.timezone) == (
        "diffusion models",
        ["cs.CV", "cs.LG"],
        Frequency.weekly,
        "Asia/Tokyo",
    )
    (confirm_email,) = notices(paperboy_home, "confirm")
    assert confirm_email["To"] == "new.reader@example.org"
    assert "List-Unsubscribe" not in confirm_email  # not subscribed yet: nothing to leave

    url = path_of(link_in(confirm_email, "/c/"))
    page = client.get(url)  # what a link scanner does
    assert page.status_code == 200
    assert 'method="post"' in page.text and "Confirm my subscription" in page.text
    assert _subscriber("new.reader@example.org").status == SubscriberStatus.pending
    assert notices(paperboy_home, "welcome") == []

    done = client.post(url)
    assert done.status_code == 200
    assert "You&#39;re subscribed" in done.text
    assert "Your first digest" in done.text  # when: see the test of first_digest_line
    assert "/p/" in done.text  # a link to the preferences page
    assert _subscriber("new.reader@example.org").status == SubscriberStatus.active
    (welcome,) = notices(paperboy_home, "welcome")
    assert welcome["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = welcome["List-Unsubscribe"].split(",")[0].strip("<> ")
    assert "/u/" in unsubscribe and unsubscribe in welcome.get_body(("plain",)).get_content()

    assert client.post(url).status_code == 200
    assert client.get(url).status_code == 200  # confirmed: the page just says so
    assert len(notices(paperboy_home, "welcome")) == 1  # idempotent: no second welcome


def test_first_digest_line_follows_time_zone_hour_weekday_and_pause() -> None:
    sub = Subscriber(email="a@b.org", timezone="Europe/Berlin", send_hour=7)
    early = datetime(2026, 12, 2, 4, 0, tzinfo=UTC)  # Wednesday 05:00 in Berlin
    assert first_digest_line(sub, early) == (
        "Your first digest arrives today at about 07:00 (Europe/Berlin)."
    )
    late = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    assert "next edition" in first_digest_line(sub, late)
    sub.frequency, sub.send_weekday = Frequency.weekly, 4
    assert "on Friday 4 December" in first_digest_line(sub, late)
    sub.paused_until = date(2026, 12, 20)
    assert "on Friday 25 December" in first_digest_line(sub, late)


def test_subscribe_accepts_json(client: TestClient, paperboy_home: Path) -> None:
    resp = client.post("/subscribe", json={"email": "json@example.org", "interests": ["a", "b"]})
    assert resp.status_code == 200
    assert "email is on its way" in resp.json()["message"]
    assert _subscriber("json@example.org").interests == "a, b"
    assert len(notices(paperboy_home, "confirm")) == 1


def test_internationalized_domain_is_accepted(client: TestClient, paperboy_home: Path) -> None:
    assert (
        client.post(
            "/subscribe", data={"email": "leser@bücher.de", "interests": "graphs"}
        ).status_code
        == 200
    )
    assert _subscriber("leser@bücher.de") is not None
    assert len(notices(paperboy_home, "confirm")) == 1


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ({"email": "not-an-address"}, "not a valid email address"),
        ({"email": "a@@b.org"}, "not a valid email address"),
        ({"email": "nul\x00@example.org"}, "not a valid email address"),
        ({"email": "r@example.org", "interests": "graphs\x00"}, "control character"),
        ({"email": "r@example.org", "categories": "bogus.XX"}, "not an arXiv category"),
        ({"email": "r@example.org", "frequency": "hourly"}, "How often: choose one of"),
        ({"email": "r@example.org", "timezone": "Mars/Base"}, "unknown time zone"),
    ],
)
def test_bad_sign_up_is_422_in_the_readers_words(
    client: TestClient, paperboy_home: Path, data: dict[str, str], says: str
) -> None:
    form = client.post("/subscribe", data=data)
    assert form.status_code == 422
    assert says in form.text
    assert "Input should" not in form.text
    api = client.post("/subscribe", json=data)
    assert api.status_code == 422
    assert says in api.json()["detail"]
    assert not (paperboy_home / "outbox").exists()


def test_malformed_nested_and_huge_bodies_are_4xx(client: TestClient) -> None:
    json_headers = {"Content-Type": "application/json"}
    bad_json = client.post("/subscribe", content=b"{nope", headers=json_headers)
    assert bad_json.status_code == 422
    assert "not valid JSON" in bad_json.json()["detail"]
    nested = client.post("/subscribe", content=b"[" * 50_000, headers=json_headers)
    assert nested.status_code in (413, 422)
    deep = client.post("/subscribe", content=b"[" * 5_000 + b"]" * 5_000, headers=json_headers)
    assert deep.status_code == 422
    huge = b'{"email": "a@b.org", "interests": "' + b"x" * 10_000_000 + b'"}'
    assert client.post("/subscribe", content=huge, headers=json_headers).status_code == 413

    def chunks():  # no Content-Length: the cap is counted while reading
        for _ in range(100):
            yield b"x" * 10_000

    streamed = client.post("/subscribe", content=chunks(), headers=json_headers)
    assert streamed.status_code == 413


def test_unknown_page_is_an_html_404(client: TestClient) -> None:
    resp = client.get("/no/such/page")
    assert resp.status_code == 404
    assert resp.headers["content-type"].startswith("text/html")
    assert "Page not found" in resp.text


def test_active_address_gets_its_link_and_the_same_answer(
    client: TestClient, paperboy_home: Path
) -> None:
    """Signing up again is a way back in; the answer never says whether the address is known."""
    active_subscriber("known@example.org")
    before = _subscriber("known@example.org")
    known = client.post("/subscribe", data={"email": "known@example.org", "interests": "new"})
    unknown = client.post("/subscribe", data={"email": "fresh@example.org", "interests": "new"})
    assert known.status_code == unknown.status_code == 200
    assert known.text == unknown.text
    after = _subscriber("known@example.org")
    assert (after.status, after.interests, after.confirmed_at) == (
        before.status,
        before.interests,
        before.confirmed_at,
    )
    assert [m["To"] for m in notices(paperboy_home, "confirm")] == ["fresh@example.org"]
    (link_email,) = notices(paperboy_home, "link")
    assert link_email["To"] == "known@example.org"
    assert client.get(path_of(link_in(link_email, "/p/"))).status_code == 200


def test_locked_out_reader_gets_back_in(client: TestClient, paperboy_home: Path) -> None:
    """Frequency off, every link revoked, sign up again: a working link lands in the outbox."""
    sid = active_subscriber("lost@example.org")
    prefs = f"/p/{token('preferences', sid)}"
    assert client.post(prefs, data={"frequency": "off"}).status_code == 200
    assert client.post(f"{prefs}/revoke").status_code == 200
    assert client.get(prefs).status_code == 400

    assert (
        client.post(
            "/subscribe", data={"email": "lost@example.org", "interests": "graphs"}
        ).status_code
        == 200
    )
    (by_sign_up,) = notices(paperboy_home, "link")
    page = client.get(path_of(link_in(by_sign_up, "/p/")))
    assert page.status_code == 200 and "lost@example.org" in page.text

    _clear_outbox(paperboy_home)
    with session_scope() as session:  # the resend interval has passed
        session.exec(update(Subscriber).values(confirm_sent_at=utcnow() - timedelta(hours=1)))
    asked = client.post("/link", data={"email": "lost@example.org"})
    nobody = client.post("/link", data={"email": "nobody@example.org"})
    assert asked.status_code == nobody.status_code == 200
    assert asked.text == nobody.text
    (by_link,) = notices(paperboy_home, "link")
    assert by_link["To"] == "lost@example.org"
    fresh = path_of(link_in(by_link, "/p/"))
    assert client.post(fresh, data={"frequency": "daily"}).status_code == 200
    assert _subscriber("lost@example.org").frequency == Frequency.daily


def test_subscribe_twice_sends_one_confirm_until_interval_passes(
    client: TestClient, paperboy_home: Path
) -> None:
    def sign_up_and_count() -> int:
        assert (
            client.post(
                "/subscribe", data={"email": "r@example.org", "interests": "graphs"}
            ).status_code
            == 200
        )
        sent = notices(paperboy_home, "confirm")
        _clear_outbox(paperboy_home)
        return len(sent)

    assert sign_up_and_count() == 1
    assert sign_up_and_count() == 0  # within 10 minutes: same answer, no email
    with session_scope() as session:  # pretend the last one went out 11 minutes ago
        session.exec(update(Subscriber).values(confirm_sent_at=utcnow() - timedelta(minutes=11)))
    assert sign_up_and_count() == 1


def test_rate_limits_per_client_and_per_address_answer_429_with_when(
    client: TestClient, paperboy_home: Path
) -> None:
    for i in range(10):
        assert (
            client.post(
                "/subscribe", data={"email": f"r{i}@example.org", "interests": "x"}
            ).status_code
            == 200
        )
    over = client.post("/subscribe", data={"email": "r10@example.org", "interests": "graphs"})
    assert over.status_code == 429
    assert "Try again in" in over.text and int(over.headers["Retry-After"]) > 0
    assert client.post("/link", data={"email": "r1@example.org"}).status_code == 429
    assert _subscriber("r10@example.org") is None
    assert len(notices(paperboy_home, "confirm")) == 10

    counter_for.cache_clear()  # a new window
    for _ in range(3):
        assert client.post("/link", data={"email": "target@example.org"}).status_code == 200
    assert (
        client.post(
            "/subscribe", json={"email": "target@example.org", "interests": "graphs"}
        ).status_code
        == 429
    )


def test_rate_limits_are_shared_through_redis(
    client: TestClient, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two web processes share one Redis: the limit holds across them (same counters)."""
    from config import get_settings
    from web.ratelimit import RateLimited, check_mail_request

    settings = get_settings().model_copy(update={"redis_url": redis_url})
    for _ in range(3):
        check_mail_request(settings, "203.0.113.9", "x@example.org")
    counter_for.cache_clear()  # as if another process: no in-process state survives
    with pytest.raises(RateLimited) as raised:
        check_mail_request(settings, "198.51.100.1", "x@example.org")
    assert 0 < raised.value.retry_after <= settings.mail_requests_window_seconds


def test_a_flood_from_one_client_does_not_lock_out_the_next(
    client: TestClient, paperboy_home: Path
) -> None:
    """1,000 sign-ups from 127.0.0.1 (10 answered, 990 refused) spend that client's window
    only: the refused ones count against no other limit, so 127.0.0.2 still gets through."""
    with TestClient(app, client=("127.0.0.1", 40000), follow_redirects=False) as flood:
        codes = [
            flood.post(
                "/subscribe", data={"email": f"f{i}@example.org", "interests": "x"}
            ).status_code
            for i in range(1000)
        ]
    assert codes.count(200) == 10 and codes.count(429) == 990
    with TestClient(app, client=("127.0.0.2", 40000), follow_redirects=False) as next_client:
        signed = next_client.post("/subscribe", data={"email": "n@example.org", "interests": "x"})
        linked = next_client.post("/link", data={"email": "f1@example.org"})
    assert signed.status_code == 200 and linked.status_code == 200


@pytest.mark.parametrize("shared", [False, True], ids=["in-process", "redis"])
def test_a_refused_request_counts_against_no_limit(
    client: TestClient, redis_url: str, shared: bool
) -> None:
    """Both counters: an address over its limit leaves the client's and overall windows alone."""
    from config import get_settings
    from web.ratelimit import RateLimited, check_mail_request

    settings = get_settings().model_copy(
        update={"redis_url": redis_url if shared else None, "mail_requests_overall": 5}
    )
    if shared:
        redis_client = counter_for(redis_url).client
        for key in redis_client.scan_iter("paperboy:ratelimit:*"):
            redis_client.delete(key)
    for i in range(3):
        check_mail_request(settings, f"192.0.2.{i}", "same@example.org")
    for i in range(20):
        with pytest.raises(RateLimited):
            check_mail_request(settings, f"192.0.2.{i}", "same@example.org")
    check_mail_request(settings, "192.0.2.1", "other@example.org")
    check_mail_request(settings, "192.0.2.2", "third@example.org")  # overall: 5 of 5
    with pytest.raises(RateLimited):
        check_mail_request(settings, "192.0.2.3", "fourth@example.org")


def _undeliverable(address: str, status: SubscriberStatus, reason: str) -> None:
    with session_scope() as session:
        subscribers.mark_undeliverable(
            session=session, email=address, status=status, reason=reason, source="test"
        )


@pytest.mark.parametrize(
    ("status", "reason"),
    [(SubscriberStatus.bounced, "bounce"), (SubscriberStatus.complained, "spam_report")],
)
def test_a_bounced_or_complained_address_that_signs_up_again_confirms_its_way_back(
    client: TestClient, paperboy_home: Path, status: SubscriberStatus, reason: str
) -> None:
    client.post("/subscribe", data={"email": "gone@example.org", "interests": "graphs"})
    old = path_of(link_in(notices(paperboy_home, "confirm")[0], "/c/"))
    _undeliverable("Gone@Example.org ", status, reason)  # the confirm email bounced
    assert client.post(old).status_code == 409  # a link from before the bounce does not lift it
    _clear_outbox(paperboy_home)
    with session_scope() as session:  # the resend interval has passed
        session.exec(update(Subscriber).values(confirm_sent_at=utcnow() - timedelta(hours=1)))

    resp = client.post("/subscribe", data={"email": "gone@example.org", "interests": "graphs"})
    assert resp.status_code == 200
    assert client.post("/link", data={"email": "gone@example.org"}).status_code == 200
    assert len(notices(paperboy_home, "confirm")) == 1  # a confirm, never a bare link
    assert not notices(paperboy_home, "link")
    url = path_of(link_in(notices(paperboy_home, "confirm")[0], "/c/"))
    assert client.get(url).status_code == 200  # a link scanner's GET changes nothing
    with session_scope() as session:
        assert session.get(Suppression, "gone@example.org").reason == reason
        assert subscribers.find(session, "gone@example.org").status == status
    assert client.post(url).status_code == 200
    with session_scope() as session:
        assert session.get(Suppression, "gone@example.org") is None
        assert subscribers.find(session, "gone@example.org").status == SubscriberStatus.active


def test_confirming_by_cli_keeps_a_bounce_suppressed(client: TestClient) -> None:
    _undeliverable("kept@example.org", SubscriberStatus.bounced, "bounce")
    with session_scope() as session:
        subscribers.subscribe(session, "kept@example.org", confirmed=True)
        assert session.get(Suppression, "kept@example.org").reason == "bounce"


def test_a_bounced_reader_who_proves_a_new_address_is_active_at_it(
    client: TestClient, paperboy_home: Path
) -> None:
    sid = active_subscriber("old@example.org")
    _undeliverable("old@example.org", SubscriberStatus.bounced, "bounce")
    resp = client.post(
        f"/p/{token('preferences', sid)}/email", data={"new_email": "new@example.org"}
    )
    assert resp.status_code == 200
    url = path_of(link_in(notices(paperboy_home, "email_change")[0], "/e/"))
    assert "now go to new@example.org" in client.post(url).text
    with session_scope() as session:
        sub = session.get(Subscriber, sid)
        assert (sub.email, sub.status) == ("new@example.org", SubscriberStatus.active)
        assert session.get(Suppression, "old@example.org").reason == "bounce"  # the old one stays


def test_old_confirm_link_does_not_undo_a_later_unsubscribe(
    client: TestClient, paperboy_home: Path
) -> None:
    client.post("/subscribe", data={"email": "u@example.org", "interests": "graphs"})
    url = path_of(link_in(notices(paperboy_home, "confirm")[0], "/c/"))
    assert client.post(url).status_code == 200
    with session_scope() as session:
        subscribers.unsubscribe(session, subscribers.find(session, "u@example.org"), "test")
    resp = client.post(url)
    assert resp.status_code == 409
    assert "not activated" in resp.text
    assert _subscriber("u@example.org").status == SubscriberStatus.unsubscribed


def test_subscribe_when_broker_is_down_answers_and_allows_a_retry(
    client: TestClient, paperboy_home: Path
) -> None:
    """The answer goes out before the email is queued, so it cannot say the broker failed;
    the resend slot is freed instead, so asking again works at once."""
    with celery_broker(f"redis://127.0.0.1:{closed_port()}/0"):
        down = client.post("/subscribe", data={"email": "later@example.org", "interests": "graphs"})
    assert down.status_code == 200
    assert _subscriber("later@example.org").confirm_sent_at is None  # the slot is released
    retry = client.post("/subscribe", data={"email": "later@example.org", "interests": "graphs"})
    assert retry.status_code == 200
    assert len(notices(paperboy_home, "confirm")) == 1
