"""Subscriber lifecycle (models.subscribers), on the embedded database: addresses are
normalized one way, an unsubscribe is suppressed once however often it comes, and a bounce or
complaint suppresses the address whether or not we know it."""

from __future__ import annotations

import pytest

from models import Subscriber, SubscriberStatus, Suppression, session_scope, subscribers, upgrade
from models.subscribers import InvalidEmail, normalize_email


@pytest.fixture(autouse=True)
def _database() -> None:
    upgrade()


def test_normalize_email_lowercases_and_refuses_what_is_not_an_address() -> None:
    assert normalize_email("  Reader@Example.ORG ") == "reader@example.org"
    with pytest.raises(InvalidEmail, match="not a valid email address"):
        normalize_email("reader@")


def test_unsubscribe_twice_changes_once_and_suppresses_once() -> None:
    with session_scope() as session:
        sub = subscribers.subscribe(session, "r@example.org", confirmed=True)
        assert subscribers.unsubscribe(session, sub, source="test")
        assert not subscribers.unsubscribe(session, sub, source="test")
        assert session.get(Subscriber, sub.id).status == SubscriberStatus.unsubscribed
        assert session.get(Suppression, "r@example.org").reason == "unsubscribe"


def test_a_bounce_marks_the_normalized_address_even_when_written_otherwise() -> None:
    with session_scope() as session:
        sub = subscribers.subscribe(session, "r@example.org", confirmed=True)
        effect = subscribers.mark_undeliverable(
            session=session,
            email=" R@Example.org",
            status=SubscriberStatus.bounced,
            reason="bounce",
            source="test",
        )
        assert effect == "bounced+suppressed"
        assert session.get(Subscriber, sub.id).status == SubscriberStatus.bounced
        assert session.get(Suppression, "r@example.org").reason == "bounce"


def test_a_complaint_about_an_unknown_address_still_suppresses_it() -> None:
    with session_scope() as session:
        effect = subscribers.mark_undeliverable(
            session=session,
            email="stranger@example.org",
            status=SubscriberStatus.complained,
            reason="spam_report",
            source="test",
        )
        assert effect == "suppressed"
        assert session.get(Suppression, "stranger@example.org").reason == "spam_report"


def test_a_bounce_hardens_an_earlier_unsubscribe_suppression() -> None:
    with session_scope() as session:
        sub = subscribers.subscribe(session, "r@example.org", confirmed=True)
        subscribers.unsubscribe(session, sub, source="test")
        subscribers.suppress(session, "r@example.org", "bounce", "test")
        subscribers.suppress(session, "r@example.org", "unsubscribe", "test")
        assert session.get(Suppression, "r@example.org").reason == "bounce"
