"""Rendered sample emails, and where tests keep what a human may want to look at."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest

from emails.message import build_message
from emails.render import NoticeContext, RenderedEmail, build_digest, build_notice
from emails.sample import sample_digest

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"  # git-ignored
SENDER = "Paperboy <digest@paperboy.example>"
SECRET = "sample-secret"  # emails.sample's default
# As long as a real signed confirm link: one unbreakable word that must still fit a phone.
ACTION_URL = "https://paperboy.example/c/WzQyNDIsMV0.awNUsg.CHheFnSgeI-TtxscCNYgbJfSS0oXk2"


def as_message(rendered: RenderedEmail, name: str) -> EmailMessage:
    return build_message(
        rendered, to="reader@example.org", sender=SENDER, message_id=f"<{name}@paperboy.example>"
    )


def save(name: str, data: bytes) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    path.write_bytes(data)
    return path


def notice(kind: str) -> RenderedEmail:
    """A notice as delivery sends it: emails to a subscriber (not the confirm email to an
    address still to be proven) carry the unsubscribe link and one-click headers."""
    to_subscriber = {
        "preferences_url": ACTION_URL.replace("/c/", "/p/"),
        "unsubscribe_url": ACTION_URL.replace("/c/", "/u/"),
        "unsubscribe_mailto": "mailto:unsubscribe@paperboy.example?subject=unsubscribe",
        "list_id": "Paperboy digest <digest.paperboy.example>",
    }
    return build_notice(
        NoticeContext(
            kind=kind,
            to_email="reader@example.org",
            action_url=ACTION_URL,
            postal_address="Paperboy Demo, 1 Example Street, 00000 Example City",
            **(to_subscriber if kind in ("welcome", "link") else {}),
        )
    )


@pytest.fixture(scope="session")
def digest() -> RenderedEmail:
    return build_digest(sample_digest(10))


@pytest.fixture(scope="session")
def emls(digest: RenderedEmail) -> dict[str, Path]:
    """Every email we send, as the .eml a mail server would see."""
    emails = {"digest": digest} | {k: notice(k) for k in ("confirm", "welcome", "link")}
    return {
        name: save(f"{name}.eml", as_message(email, name).as_bytes())
        for name, email in emails.items()
    }
