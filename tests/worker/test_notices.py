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
    [("confirm", "confirm"), ("welcome", "preferences"), ("unsubscribed", "preferences")],
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
