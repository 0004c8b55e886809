"""Transactional emails through the real path: task -> render -> outbox."""

from __future__ import annotations

import email
from email.policy import default
from pathlib import Path

import pytest

from config import get_settings
from emails.tokens import read_token
from models import session_scope, subscribers, upgrade
from worker import tasks


@pytest.mark.parametrize(
    ("kind", "purpose"),
    [("confirm", "confirm"), ("welcome", "preferences"), ("link", "preferences")],
)
def test_send_notice_writes_email_with_signed_action_link(
    paperboy_home: Path, kind: str, purpose: str
) -> None:
    upgrade()
    with session_scope() as session:
        sid = subscribers.subscribe(session, "Reader@Example.org", interests="x").id
    tasks.send_notice(kind, sid)
    (path,) = (paperboy_home / "outbox").glob("*.eml")
    msg = email.message_from_bytes(path.read_bytes(), policy=default)
    assert msg["To"] == "reader@example.org"
    text = msg.get_body(("plain",)).get_content()
    url = next(w for w in text.split() if "/" + purpose[0] + "/" in w)
    token = url.rsplit("/", 1)[1]
    assert read_token(get_settings().signing_key(), purpose, token).subscriber_id == sid
    assert url in msg.get_body(("html",)).get_content()


def test_welcome_and_link_emails_carry_one_click_unsubscribe(paperboy_home: Path) -> None:
    upgrade()
    with session_scope() as session:
        sid = subscribers.subscribe(session, "reader@example.org", confirmed=True).id
    for kind in ("welcome", "link", "confirm"):
        tasks.send_notice(kind, sid)
    for path in (paperboy_home / "outbox").glob("*.eml"):
        msg = email.message_from_bytes(path.read_bytes(), policy=default)
        if "confirm" in path.name:
            assert msg["List-Unsubscribe"] is None  # the address is not proven yet
            continue
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        url = msg["List-Unsubscribe"].split(",")[0].strip("<> ")
        token = url.rsplit("/", 1)[1]
        assert read_token(get_settings().signing_key(), "unsubscribe", token).subscriber_id == sid
        assert f"Unsubscribe: {url}" in msg.get_body(("plain",)).get_content()


def test_email_change_goes_to_the_new_address(paperboy_home: Path) -> None:
    upgrade()
    with session_scope() as session:
        sub = subscribers.subscribe(session, "old@example.org", confirmed=True)
        subscribers.request_email_change(session, sub, "New@Example.org")
        sid = sub.id
    tasks.send_notice("email_change", sid)
    (path,) = (paperboy_home / "outbox").glob("*.eml")
    msg = email.message_from_bytes(path.read_bytes(), policy=default)
    assert msg["To"] == "new@example.org"
    url = next(w for w in msg.get_body(("plain",)).get_content().split() if "/e/" in w)
    data = read_token(get_settings().signing_key(), "email", url.rsplit("/", 1)[1])
    assert (data.subscriber_id, data.address) == (sid, "new@example.org")
