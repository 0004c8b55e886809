"""The outbox, the embedded default: one RFC 5322 `.eml` per message."""

from __future__ import annotations

from email import message_from_bytes
from email.policy import default
from pathlib import Path

from tests.worker.sending import outcomes, plan_run


def test_outbox_eml_is_rfc5322(paperboy_home: Path) -> None:
    run_id, (digest_id,) = plan_run(1)
    assert outcomes(run_id, [digest_id]) == ["sent"]
    raw = (paperboy_home / "outbox" / f"digest-{digest_id}.eml").read_bytes()
    assert b"\r\n" in raw and b"\n\n" not in raw.replace(b"\r\n", b"")
    msg = message_from_bytes(raw, policy=default)
    for header in ("From", "To", "Subject", "Date", "Message-ID", "List-Id"):
        assert msg[header], header
