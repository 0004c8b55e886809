"""SendGrid's Signed Event Webhook scheme, checked against SendGrid's own published vector."""

from __future__ import annotations

from emails.providers.sendgrid import load_public_key, signature_valid

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
