"""Tables, engine/session, migrations, and the state changes of records (`subscribers`,
`feedback`)."""

from models.db import get_engine, pending_migrations, session_scope, upgrade
from models.tables import (
    DeliveryEvent,
    Digest,
    DigestItem,
    DigestStatus,
    Feedback,
    Frequency,
    Paper,
    RunState,
    SendRun,
    SourceRun,
    Subscriber,
    SubscriberStatus,
    Suppression,
    digest_ref,
    utcnow,
)

__all__ = [
    "DeliveryEvent",
    "Digest",
    "DigestItem",
    "DigestStatus",
    "Feedback",
    "Frequency",
    "Paper",
    "RunState",
    "SendRun",
    "SourceRun",
    "Subscriber",
    "SubscriberStatus",
    "Suppression",
    "digest_ref",
    "get_engine",
    "pending_migrations",
    "session_scope",
    "upgrade",
    "utcnow",
]
