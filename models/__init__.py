"""Tables, engine/session and migrations."""

from models.db import get_engine, session_scope, upgrade
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
    "session_scope",
    "upgrade",
    "utcnow",
]
