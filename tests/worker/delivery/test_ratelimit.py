"""SEND_RATE_PER_SECOND is one bucket for every worker (Redis), or this process's (no Redis)."""

from __future__ import annotations

import pytest

from tests.worker.processes import free_port
from worker.delivery.ratelimit import Limiter


@pytest.mark.services
def test_workers_share_one_bucket_and_one_hold(redis_url: str) -> None:
    worker_a, worker_b = Limiter(10, redis_url), Limiter(10, redis_url)
    assert worker_a._take(10) == 0  # a second's worth, at once
    wait = worker_b._take(1)  # the other worker finds the bucket empty
    assert 0.05 < wait <= 0.1
    worker_b.hold(5)  # a 429 said Retry-After: 5
    assert 4 < worker_a._take(1) <= 5


def test_without_redis_the_bucket_is_in_process() -> None:
    limiter = Limiter(10, None)
    assert limiter._take(10) == 0
    assert 0.05 < limiter._take(1) <= 0.1
    limiter.hold(3)
    assert 2 < limiter._take(1) <= 3


def test_unreachable_redis_falls_back_to_this_process() -> None:
    limiter = Limiter(10, f"redis://127.0.0.1:{free_port()}/0")
    assert limiter._take(10) == 0
    assert limiter._take(1) > 0
