"""Web fixtures: the real app over a real SQLite DB in the test's PAPERBOY_HOME, plus helpers
to read the outbox, sign webhook payloads as SendGrid does, and point Celery at a broker."""

from __future__ import annotations

import email
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from config import get_settings
from emails.tokens import make_token
from models import Paper, session_scope, subscribers, upgrade
from tests.conftest import configure_celery, reset_caches
from tests.emails.providers.sendgrid_standin import SendGridSigner
from tests.worker.ingest.fake_providers import FakeProviders
from web.app import app
from web.ratelimit import counter_for


@pytest.fixture
def client(paperboy_home: Path) -> Iterator[TestClient]:
    upgrade()
    counter_for.cache_clear()  # every test starts with fresh in-process rate-limit windows
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client


def path_of(url: str) -> str:
    """A link from an email, as a path the test client can request."""
    return url.removeprefix(get_settings().base_url)


def notices(home: Path, kind: str) -> list[EmailMessage]:
    """Transactional emails of one kind that landed in the outbox, oldest first."""
    paths = sorted((home / "outbox").glob(f"notice-{kind}-*.eml"))
    return [email.message_from_bytes(p.read_bytes(), policy=default) for p in paths]


def link_in(message: EmailMessage, path: str) -> str:
    """The first link in the plain-text part whose path starts with `path` (e.g. "/c/")."""
    text = message.get_body(("plain",)).get_content()
    return next(word for word in text.split() if path in word and word.startswith("http"))


def token(purpose: str, subscriber_id: int, version: int = 1, **kw) -> str:
    return make_token(get_settings().signing_key(), purpose, subscriber_id, version, **kw)


def active_subscriber(address: str = "reader@example.org", **kw) -> int:
    with session_scope() as session:
        return subscribers.subscribe(
            session, address, interests="graph neural networks", confirmed=True, **kw
        ).id


def add_paper(paper_id: str = "2411.00001", title: str = "Message passing at scale") -> str:
    with session_scope() as session:
        session.add(Paper(id=paper_id, title=title, abstract="graphs"))
    return paper_id


@pytest.fixture
def arxiv(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeProviders]:
    """The local arXiv stand-in, for seed lookups by id, URL or DOI."""
    fake = FakeProviders().start()
    monkeypatch.setenv("ARXIV_API_URL", f"{fake.url}/api/query")
    monkeypatch.setenv("ARXIV_MIN_INTERVAL_SECONDS", "0.01")
    reset_caches()
    yield fake
    fake.stop()


@pytest.fixture
def signer() -> SendGridSigner:
    return SendGridSigner()


def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def celery_broker(url: str) -> Iterator[None]:
    """Send tasks to a real broker (not in-process) for the block; then back to in-process,
    the state every test starts from (the autouse fixture clears REDIS_URL)."""
    configure_celery(get_settings().model_copy(update={"redis_url": url}))
    try:
        yield
    finally:
        configure_celery(get_settings().model_copy(update={"redis_url": None}))


PORTS = range(18100, 18200)  # the range this machine sets aside for test servers
REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    for port in PORTS:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 18100-18199")


@contextmanager
def web_server(home: Path, port: int) -> Iterator[str]:
    """The Procfile's `web` process (`uvicorn web.app:app ... --proxy-headers`), bound to
    loopback, with this test's environment; yields its base URL once /health answers."""
    import os
    import subprocess
    import sys
    import time

    import httpx

    home.mkdir(parents=True, exist_ok=True)
    log_path = home / "web.log"
    procfile = ["web.app:app", "--host", "127.0.0.1", "--port", str(port), "--proxy-headers"]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", *procfile],
            cwd=REPO,
            env=dict(os.environ),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                assert proc.poll() is None, log_path.read_text()
                try:
                    if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "the web process did not start in 30 s"
                time.sleep(0.2)
            yield base
        finally:
            proc.terminate()
            proc.wait(timeout=15)
