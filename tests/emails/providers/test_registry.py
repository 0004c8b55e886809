"""The provider registry: MAIL_BACKEND and `/webhooks/{provider}` find a provider by its one
registry line. A toy provider, declared in this module and registered by the test alone, sends
through the real delivery path, pauses a run with its own credential hint and has its signed
events applied through the real webhook route: adding a provider changes no other code."""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select
from typer.testing import CliRunner

from cli.main import app
from config import ConfigError, Settings, get_settings
from emails.providers import registry
from emails.providers.base import (
    Envelope,
    EventType,
    MailError,
    Provider,
    TrackingEvent,
    Webhook,
    WebhookRefused,
)
from models import DeliveryEvent, Subscriber, SubscriberStatus, session_scope
from tests import REPO
from tests.conftest import reset_caches
from tests.web.conftest import active_subscriber, client
from tests.worker.sending import address, digest, plan_run, statuses

__all__ = ["client"]
runner = CliRunner()
TOY_KEY = b"the toy's webhook key"
SIGNATURE_HEADER = "X-Toy-Signature"


@dataclass
class Toy:
    """The toy provider's side of the wire: what it accepted, and whether it refuses us."""

    accepted: list[Envelope] = field(default_factory=list)
    refusing: bool = False


TOY = Toy()


class ToyBackend:
    name = "toy"
    concurrency = 1

    def send(self, envelope: Envelope) -> str:
        if TOY.refusing:
            raise MailError("toy", "token revoked", status=401)
        TOY.accepted.append(envelope)
        return f"toy-{envelope.ref}"

    def close(self) -> None:
        pass


def toy_signature(body: bytes) -> str:
    return hmac.new(TOY_KEY, body, hashlib.sha256).hexdigest()


def toy_verify(headers: Mapping[str, str], body: bytes, _settings: Settings) -> None:
    if not hmac.compare_digest(headers.get(SIGNATURE_HEADER, ""), toy_signature(body)):
        raise WebhookRefused(403, "toy: signature does not match")


def toy_parse(body: bytes) -> tuple[list[TrackingEvent], list[str]]:
    return [
        TrackingEvent(
            provider="toy",
            event_type=EventType(e["type"]),
            event_id=e["id"],
            timestamp=datetime.now(UTC),
            recipient=e["to"],
            ref=e["ref"],
            effect=EventType.bounced if e["type"] == "bounced" else None,
        )
        for e in json.loads(body)
    ], []


PROVIDER = Provider(
    name="toy",
    backend=lambda _settings: ToyBackend(),
    credential_hint="check TOY_TOKEN",
    webhook=Webhook(verify=toy_verify, parse=toy_parse),
)


@pytest.fixture
def toy(monkeypatch: pytest.MonkeyPatch) -> Toy:
    """The toy registered (its one registry line) and configured as MAIL_BACKEND."""
    monkeypatch.setitem(registry.PROVIDERS, "toy", __name__)
    monkeypatch.setenv("MAIL_BACKEND", "toy")
    reset_caches()
    TOY.accepted.clear()
    TOY.refusing = False
    return TOY


def test_a_registered_provider_sends_through_the_real_path(toy: Toy) -> None:
    run_id, planned = plan_run(3)
    result = runner.invoke(app, ["send"])
    assert result.exit_code == 0, result.output
    assert statuses(run_id) == {"sent": 3}
    assert sorted(e.to for e in toy.accepted) == [address(i) for i in range(3)]
    assert digest(planned[0]).provider_message_id == f"toy-digest-{planned[0]}"


def test_a_refused_credential_pauses_with_the_providers_own_hint(toy: Toy) -> None:
    plan_run(2)
    toy.refusing = True
    runner.invoke(app, ["send"])
    status = runner.invoke(app, ["runs", "status"], env={"COLUMNS": "200"})
    assert "check TOY_TOKEN" in status.output and "SENDGRID" not in status.output


def test_a_registered_providers_signed_events_are_applied(client: TestClient, toy: Toy) -> None:
    sid = active_subscriber("bounce@x.org")
    body = json.dumps(
        [
            {"type": "bounced", "id": "t1", "to": "bounce@x.org", "ref": "digest-7"},
            {"type": "delivered", "id": "t2", "to": "bounce@x.org", "ref": "digest-7"},
        ]
    ).encode()
    forged = client.post("/webhooks/toy", content=body, headers={SIGNATURE_HEADER: "0" * 64})
    assert forged.status_code == 403
    assert forged.json() == {"detail": "toy: signature does not match"}
    signed = {SIGNATURE_HEADER: toy_signature(body)}
    resp = client.post("/webhooks/toy", content=body, headers=signed)
    assert resp.json() == {"received": 2, "new": 2, "duplicate": 0, "applied": 1, "skipped": 0}
    with session_scope() as session:
        assert session.get(Subscriber, sid).status == SubscriberStatus.bounced
        stored = session.exec(select(DeliveryEvent)).all()
    assert {(e.provider, e.event_id) for e in stored} == {("toy", "t1"), ("toy", "t2")}


@pytest.mark.parametrize(
    ("provider", "detail"),
    [
        ("carrier-pigeon", "no mail provider 'carrier-pigeon'; known: outbox, sendgrid, smtp"),
        ("smtp", "mail provider 'smtp' has no event webhook"),
        ("outbox", "mail provider 'outbox' has no event webhook"),
    ],
)
def test_a_webhook_for_no_provider_or_one_without_webhooks_is_404(
    client: TestClient, provider: str, detail: str
) -> None:
    resp = client.post(f"/webhooks/{provider}", content=b"[]")
    assert resp.status_code == 404 and resp.json() == {"detail": detail}


def test_unknown_mail_backend_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """Refused when a process starts (the CLI exits 2, a worker's Celery config raises), not
    at the first send."""
    from worker.app import app_config

    monkeypatch.setenv("MAIL_BACKEND", "carrier-pigeon")
    get_settings.cache_clear()
    with pytest.raises(ConfigError, match="'carrier-pigeon'; known: outbox, sendgrid, smtp"):
        registry.get_backend(get_settings())
    with pytest.raises(ConfigError, match="'carrier-pigeon'; known: outbox, sendgrid, smtp"):
        app_config(get_settings())
    result = CliRunner().invoke(app, ["plan"])
    assert result.exit_code == 2
    assert "no mail provider 'carrier-pigeon'" in " ".join(result.output.split())


@pytest.mark.parametrize(
    ("backend", "hint"),
    [("sendgrid", "check SENDGRID_API_KEY"), ("smtp", "check SMTP_URL's credentials")],
)
def test_the_credential_hint_is_the_configured_providers(backend: str, hint: str) -> None:
    assert registry.credential_hint(Settings(mail_backend=backend)) == hint


def test_the_web_app_imports_no_provider_until_its_events_arrive() -> None:
    probe = "import sys, web.app; print(sorted(m for m in sys.modules if 'sendgrid' in m))"
    out = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
