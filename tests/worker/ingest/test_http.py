"""The polite client against the local server: spacing, retries, backoff, permanent errors."""

from __future__ import annotations

import itertools

import pytest

from tests.worker.ingest.conftest import FakeClock
from tests.worker.ingest.fake_providers import FakeProviders
from worker.ingest.http import PoliteClient, Politeness, SourceError

HF_DAY = {"date": "2026-11-21", "p": 0, "limit": 10}


def _client(clock: FakeClock, interval: float = 3.0, attempts: int = 4, timeout: float = 2.0):
    politeness = Politeness(min_interval=interval, max_attempts=attempts, backoff=2.0)
    return PoliteClient("test", politeness, timeout=timeout, clock=clock, sleep=clock.sleep)


def test_get_spaces_requests_by_the_minimum_interval(providers: FakeProviders, clock) -> None:
    with _client(clock) as client:
        for _ in range(4):
            client.get(f"{providers.url}/api/daily_papers", params=HF_DAY)
    times = [t for _, _, t in providers.requests]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(gaps) == 3
    assert all(g >= 3.0 for g in gaps), gaps
    assert clock.sleeps == [3.0, 3.0, 3.0]  # no real work took fake time: exactly the interval


def test_get_retries_503_then_succeeds(providers: FakeProviders, clock) -> None:
    providers.respond("daily_papers", 503, body=b"busy", times=2)
    with _client(clock) as client:
        response = client.get(f"{providers.url}/api/daily_papers", params=HF_DAY)
    assert response.json() == []
    assert client.requests == 3
    times = [t for _, _, t in providers.requests]
    # backoff 2 s then 4 s; the first is stretched to the 3 s spacing, which still holds
    assert [b - a for a, b in itertools.pairwise(times)] == [3.0, 4.0]


def test_get_honours_retry_after_on_429(providers: FakeProviders, clock) -> None:
    providers.respond(
        "daily_papers", 429, body=b"slow down", headers={"Retry-After": "30"}, times=1
    )
    with _client(clock) as client:
        client.get(f"{providers.url}/api/daily_papers", params=HF_DAY)
    assert client.requests == 2
    assert clock.sleeps[0] == 30.0  # Retry-After beats the shorter backoff
    times = [t for _, _, t in providers.requests]
    assert times[1] - times[0] >= 30.0


def test_get_gives_up_after_max_attempts_with_the_last_error(providers, clock) -> None:
    providers.respond("daily_papers", 502, body=b"bad gateway")
    with _client(clock, attempts=3) as client, pytest.raises(SourceError) as err:
        client.get(f"{providers.url}/api/daily_papers", params=HF_DAY)
    assert client.requests == 3
    assert "gave up after 3 attempts" in str(err.value)
    assert "HTTP 502" in str(err.value) and "bad gateway" in str(err.value)


def test_get_does_not_retry_a_permanent_4xx(providers: FakeProviders, clock) -> None:
    with _client(clock) as client, pytest.raises(SourceError) as err:
        client.get(f"{providers.url}/nowhere")
    assert client.requests == 1
    assert err.value.status == 404


def test_get_retries_a_timeout(providers: FakeProviders, clock) -> None:
    providers.respond("daily_papers", 200, delay=1.0, times=1)  # slower than the timeout
    with _client(clock, timeout=0.2) as client:
        response = client.get(f"{providers.url}/api/daily_papers", params=HF_DAY)
    assert response.status_code == 200
    assert client.requests == 2


def test_get_reports_a_source_that_is_down(clock) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with _client(clock, attempts=2) as client, pytest.raises(SourceError) as err:
        client.get(f"http://127.0.0.1:{port}/api/daily_papers")
    assert "ConnectError" in str(err.value)
    assert client.requests == 2
