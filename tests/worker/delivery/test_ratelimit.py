"""SEND_RATE_PER_SECOND is one bucket for every worker (Redis), or this process's (no Redis),
and `acquire(n)` is exact for any n: a reservation beyond the bucket is a debt to wait out."""

from __future__ import annotations

import pytest

from tests.worker.processes import free_port
from worker.delivery.ratelimit import Limiter


@pytest.mark.services
def test_workers_share_one_bucket_and_one_hold(redis_url: str) -> None:
    worker_a, worker_b = Limiter(10, redis_url), Limiter(10, redis_url)
    assert worker_a._take(10) == (True, 0)  # a second's worth, at once
    reserved, wait = worker_b._take(1)  # the other worker finds the bucket empty
    assert reserved and 0.05 < wait <= 0.1
    worker_b.hold(5)  # a 429 said Retry-After: 5
    reserved, wait = worker_a._take(1)
    assert not reserved and 4 < wait <= 5


@pytest.mark.services
def test_more_than_the_bucket_holds_is_reserved_and_waited_for(redis_url: str) -> None:
    worker_a, worker_b = Limiter(5, redis_url), Limiter(5, redis_url)
    assert worker_a._take(32) == (True, pytest.approx(27 / 5, abs=0.05))  # not clipped to 5
    reserved, wait = worker_b._take(5)  # behind the debt: 27 + 5 tokens at 5/s
    assert reserved and wait == pytest.approx(32 / 5, abs=0.05)


def test_without_redis_the_bucket_is_in_process() -> None:
    limiter = Limiter(10, None)
    assert limiter._take(10) == (True, 0)
    reserved, wait = limiter._take(1)
    assert reserved and 0.05 < wait <= 0.1
    limiter.hold(3)
    reserved, wait = limiter._take(1)
    assert not reserved and 2 < wait <= 3
    limiter.local.hold_until = 0  # the hold lifted: 31 more at 10/s is a debt of 3.2 s
    assert limiter._take(30)[1] == pytest.approx(3.1, abs=0.05)


def test_unreachable_redis_falls_back_to_this_process() -> None:
    limiter = Limiter(10, f"redis://127.0.0.1:{free_port()}/0")
    assert limiter._take(10) == (True, 0)
    assert limiter._take(1)[1] > 0
