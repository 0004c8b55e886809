"""SendGrid against its stand-in, through the production path (send.send_chunk -> backend):
each provider failure ends in a retry, a recorded failure or a paused run, never a silent drop
or a duplicate; and its Signed Event Webhook scheme, checked against SendGrid's own vector."""

from __future__ import annotations

import pytest

from config import ConfigError, get_settings
from emails.providers import get_backend
from emails.providers.sendgrid import load_public_key, signature_valid
from models import DigestStatus
from tests.conftest import reset_caches
from tests.emails.providers.sendgrid_standin import StandIn, standin
from tests.worker.sending import address, digest, outcomes, plan_run
from worker.delivery import send

__all__ = ["standin"]


def test_sendgrid_payload_is_built_from_the_rendered_email(standin: StandIn) -> None:
    run_id, (digest_id,) = plan_run(1)
    assert outcomes(run_id, [digest_id]) == ["sent"]
    (request,) = standin.accepted()
    payload = request.payload
    assert payload["custom_args"] == {"paperboy_ref": f"digest-{digest_id}"}
    assert payload["categories"] == ["digest"]
    assert payload["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert payload["headers"]["List-Unsubscribe"].startswith("<http")
    assert [c["type"] for c in payload["content"]] == ["text/plain", "text/html"]
    assert payload["personalizations"][0]["to"] == [{"email": address(0)}]
    assert payload["from"] == {"email": "digest@paperboy.example", "name": "Paperboy"}
    assert digest(digest_id).provider_message_id  # the X-Message-Id the stand-in answered


@pytest.mark.parametrize("status", [500, 503, 429])
def test_sendgrid_retryable_status_then_success_sends_once(standin: StandIn, status: int) -> None:
    run_id, (digest_id,) = plan_run(1)
    standin.behaviour.script = [status]
    standin.behaviour.retry_after = 0.2
    settings = get_settings().model_copy(update={"send_retry_base_seconds": 0.2})
    results = send.send_chunk(run_id, [digest_id], settings=settings, in_process=True)
    assert [r.outcome for r in results] == ["sent"]
    assert [r.status for r in standin.requests] == [status, 202]
    row = digest(digest_id)
    assert row.status == DigestStatus.sent and row.attempts == 2


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (400, "personalizations.0.to: Does not contain a valid address."),
        (413, "The JSON payload you have included in your request is too large."),
    ],
)
def test_sendgrid_permanent_error_fails_only_that_digest_with_the_providers_message(
    standin: StandIn, status: int, message: str
) -> None:
    run_id, planned = plan_run(3)
    standin.behaviour.reject = {address(1): status}
    assert outcomes(run_id, planned) == ["sent", "failed", "sent"]
    row = digest(planned[1])
    assert row.status == DigestStatus.failed and row.fail_reason == f"sendgrid_{status}"
    assert message in row.last_error
    assert sorted(standin.delivered_to()) == [address(0), address(2)]


def test_sendgrid_retries_stop_after_max_attempts(standin: StandIn, monkeypatch) -> None:
    monkeypatch.setenv("SEND_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("SEND_RETRY_BASE_SECONDS", "0.1")
    reset_caches()
    run_id, (digest_id,) = plan_run(1)
    standin.behaviour.script = [503, 503]
    results = send.send_chunk(run_id, [digest_id], settings=get_settings(), in_process=True)
    assert [r.outcome for r in results] == ["failed"]
    assert digest(digest_id).fail_reason == "attempts"
    assert standin.accepted() == []


def test_sendgrid_unreachable_is_retried(monkeypatch) -> None:
    monkeypatch.setenv("MAIL_BACKEND", "sendgrid")
    monkeypatch.setenv("SENDGRID_API_KEY", "SG.test")
    monkeypatch.setenv("SENDGRID_API_URL", "http://127.0.0.1:9")  # discard port: refused
    reset_caches()
    run_id, (digest_id,) = plan_run(1)
    (result,) = send.send_chunk(run_id, [digest_id], settings=get_settings())
    assert result.outcome == "retry" and "request failed" in result.detail


def test_sendgrid_without_an_api_key_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAIL_BACKEND", "sendgrid")
    reset_caches()
    with pytest.raises(ConfigError, match="MAIL_BACKEND=sendgrid needs SENDGRID_API_KEY"):
        get_backend(get_settings())


# SendGrid's own published test vector (their SDKs' EventWebhook tests): proves the scheme matches.
SG_PUBLIC_KEY = (
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7"
    "yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA=="
)
SG_SIGNATURE = (
    "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6"
    "BpSzoQsbVRamr2nlxFDWYNH2j/0="
)
SG_TIMESTAMP = "1588788367"
SG_PAYLOAD = b'{"category":"example_payload","event":"test_event","message_id":"message_id"}'


def test_sendgrid_published_vector_verifies() -> None:
    key = load_public_key(SG_PUBLIC_KEY)
    assert signature_valid(key, SG_SIGNATURE, SG_TIMESTAMP, SG_PAYLOAD)
    assert not signature_valid(key, SG_SIGNATURE, "1588788368", SG_PAYLOAD)
    assert not signature_valid(key, SG_SIGNATURE, SG_TIMESTAMP, SG_PAYLOAD + b" ")
    assert not signature_valid(key, SG_SIGNATURE.replace("2j/0", "3j/0"), SG_TIMESTAMP, SG_PAYLOAD)
