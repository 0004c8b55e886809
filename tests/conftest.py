"""Shared fixtures: an isolated PAPERBOY_HOME per test, and real services when present.

Service-backed tests skip with a clear reason when PostgreSQL/Redis are unreachable,
unless PAPERBOY_REQUIRE_SERVICES=1 (CI), where they fail instead.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from config import Settings, get_settings
from models.db import get_engine

POSTGRES_ADMIN_URL = os.environ.get(
    "PAPERBOY_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REDIS_TEST_URL = os.environ.get("PAPERBOY_TEST_REDIS", "redis://127.0.0.1:6379/15")
ENV_KEYS = (
    "DATABASE_URL",
    "REDIS_URL",
    "MAIL_BACKEND",
    "OUTBOX_DIR",
    "SECRET_KEY",
    "SMTP_URL",
    "SENDGRID_API_KEY",
    "SENDGRID_API_URL",
    "SENDGRID_WEBHOOK_PUBLIC_KEY",
    "ARXIV_API_URL",
    "HF_API_URL",
    "BIORXIV_API_URL",
    "MEDRXIV_API_URL",
    "BASE_URL",
)


def reset_caches() -> None:
    """Forget cached settings and engines, and point Celery at the settings now in force."""
    get_settings.cache_clear()
    get_engine.cache_clear()
    configure_celery(get_settings())


def configure_celery(settings: Settings) -> None:
    """Point the Celery app's broker and in-process switch at the settings this test runs with."""
    from worker.app import app, configure

    configure(app, settings)


@pytest.fixture(autouse=True)
def paperboy_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test gets the embedded default in its own directory, whatever the shell has set."""
    for key in ENV_KEYS:
        monkeypatch.delenv(key, raising=False)
    home = tmp_path / "home"
    monkeypatch.setenv("PAPERBOY_HOME", str(home))
    monkeypatch.chdir(tmp_path)  # no stray .env from the developer's checkout
    reset_caches()
    yield home
    get_settings.cache_clear()  # the test's env may be deliberately broken: configure nothing
    get_engine.cache_clear()


def service_unavailable(what: str, reason: str) -> None:
    if os.environ.get("PAPERBOY_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{what} is required (PAPERBOY_REQUIRE_SERVICES=1) but {reason}")
    pytest.skip(f"{what} unavailable: {reason}")


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL database, created and dropped around the test."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"paperboy_test_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as e:
        admin.dispose()
        service_unavailable("PostgreSQL", str(e).splitlines()[0])
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        get_engine.cache_clear()  # closes nothing by itself: dispose pools first
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def redis_url() -> str:
    import redis

    try:
        client = redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=1)
        client.ping()
        client.flushdb()
    except redis.RedisError as e:
        service_unavailable("Redis", str(e))
    return REDIS_TEST_URL


@pytest.fixture
def production(postgres_url: str, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The production configuration on this machine's services: a throwaway PostgreSQL
    database, the Redis broker and a SECRET_KEY. Returns the database URL."""
    monkeypatch.setenv("DATABASE_URL", postgres_url)
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("SECRET_KEY", "test-secret-key-for-the-production-configuration")
    reset_caches()
    return postgres_url
