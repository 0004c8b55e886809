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
    SourceRun,
    Subscriber,
    SubscriberStatus,
    Suppression,
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
    "SourceRun",
    "Subscriber",
    "SubscriberStatus",
    "Suppression",
    "get_engine",
    "pending_migrations",
    "session_scope",
    "upgrade",
    "utcnow",
]
