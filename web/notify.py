"""The one enqueue point for transactional emails: web never sends mail itself."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


def enqueue_notice(kind: str, subscriber_id: int) -> bool:
    """Call only after the commit, so the task never runs before its row exists.

    Returns False (and logs why) when the broker is unreachable or, with in-process tasks,
    when sending failed: the caller's committed change stands either way.
    """
    from worker import tasks  # the Celery app configures itself on import

    try:
        tasks.send_notice.delay(kind, subscriber_id)
    except Exception:
        log.exception("could not enqueue the %r email for subscriber %s", kind, subscriber_id)
        return False
    return True
