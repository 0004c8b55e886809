"""The one retry formula and the broker settings delivery relies on."""

from __future__ import annotations

from config import Settings
from config.celery import (
    RETRY_MAX_SECONDS,
    VISIBILITY_TIMEOUT_SECONDS,
    backoff_seconds,
    celery_config,
)


def test_backoff_doubles_is_capped_and_jittered() -> None:
    assert [backoff_seconds(a, base=10, jitter=False) for a in range(3)] == [10, 20, 40]
    assert backoff_seconds(30, jitter=False) == RETRY_MAX_SECONDS
    delays = {backoff_seconds(2, base=10) for _ in range(50)}
    assert len(delays) > 40 and all(20 <= d <= 40 for d in delays)


def test_retry_after_is_a_floor_with_spread_above_it() -> None:
    delays = [backoff_seconds(0, base=30, retry_after=5) for _ in range(50)]
    assert all(5 <= d <= 10 for d in delays)
    assert max(delays) - min(delays) > 1  # not one synchronized burst


def test_tasks_survive_a_killed_worker_and_never_wait_an_hour() -> None:
    conf = celery_config(Settings())
    assert conf["task_acks_late"] and conf["task_reject_on_worker_lost"]
    assert conf["worker_prefetch_multiplier"] == 1
    timeout = conf["broker_transport_options"]["visibility_timeout"]
    assert timeout == VISIBILITY_TIMEOUT_SECONDS < 3600
    assert timeout > RETRY_MAX_SECONDS  # a waiting countdown is never delivered twice
    assert conf["beat_schedule"]["reap-sends"]["task"] == "paperboy.reap_sends"
