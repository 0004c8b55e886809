"""Settings: embedded defaults with no configuration, clear refusals for broken production."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from config import ConfigError, Settings
from tests import conftest


def test_defaults_are_the_embedded_mode(paperboy_home: Path) -> None:
    s = Settings()
    assert s.is_embedded and s.tasks_in_process and s.mail_backend == "outbox"
    assert s.db_url == f"sqlite:///{paperboy_home / 'paperboy.db'}"
    assert s.outbox_path == paperboy_home / "outbox"


def test_generated_secret_is_stable_and_private(paperboy_home: Path) -> None:
    first = Settings().signing_key()
    assert len(first) >= 40
    assert Settings().signing_key() == first
    assert (paperboy_home / "secret_key").stat().st_mode & 0o077 == 0


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DATABASE_URL": "postgresql+psycopg://x@h/db", "REDIS_URL": "redis://h"}, "SECRET_KEY"),
        ({"DATABASE_URL": "postgresql+psycopg://x@h/db", "SECRET_KEY": "k"}, "REDIS_URL"),
    ],
)
def test_production_without_secret_or_broker_is_refused(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises((ConfigError, ValidationError), match=message):
        Settings()


def test_missing_service_skips_or_fails_by_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PAPERBOY_REQUIRE_SERVICES", raising=False)
    with pytest.raises(pytest.skip.Exception, match="Redis unavailable: down"):
        conftest.service_unavailable("Redis", "down")
    monkeypatch.setenv("PAPERBOY_REQUIRE_SERVICES", "1")
    with pytest.raises(pytest.fail.Exception, match="Redis is required"):
        conftest.service_unavailable("Redis", "down")
