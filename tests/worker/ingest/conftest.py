"""Fixtures for the source tests: the local provider server and an injected clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from config import get_settings
from tests.conftest import reset_caches
from tests.worker.ingest.fake_providers import ARXIV_PAGE_SIZE, HF_PAGE_LIMIT, FakeProviders

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)  # the day after the recorded listings
SINCE = datetime(2026, 11, 17, tzinfo=UTC)


class FakeClock:
    """Monotonic time that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def providers(clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeProviders]:
    fake = FakeProviders(clock=clock).start()
    env = {
        "ARXIV_API_URL": f"{fake.url}/api/query",
        "HF_API_URL": f"{fake.url}/api",
        "BIORXIV_API_URL": fake.url,
        "MEDRXIV_API_URL": fake.url,
        "ARXIV_PAGE_SIZE": str(ARXIV_PAGE_SIZE),
        "HF_PAGE_LIMIT": str(HF_PAGE_LIMIT),
        "HTTP_TIMEOUT_SECONDS": "2",
        "FETCH_MAX_ATTEMPTS": "4",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    reset_caches()
    yield fake
    fake.stop()


@pytest.fixture
def db(providers):
    """A migrated embedded database (the autouse PAPERBOY_HOME's SQLite)."""
    from models import upgrade

    upgrade()
    return get_settings()
