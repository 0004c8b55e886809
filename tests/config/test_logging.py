"""Logging: one line per event, and no signed token in any line, uvicorn's access log included."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from config.logging import OneLineFormatter, RedactTokens, configure_logging, redact
from emails.tokens import make_token
from tests import REPO

SECRET = "a-test-secret-of-reasonable-length-for-signing-links"


def test_redact_removes_every_purpose_of_token() -> None:
    for purpose in ("unsubscribe", "preferences", "feedback", "confirm"):
        token = make_token(SECRET, purpose, 12345, 3)
        line = f'127.0.0.1:5 - "GET /u/{token}?x=1 HTTP/1.1" 200'
        assert token not in redact(line) and "/u/[token]?x=1" in redact(line)
    assert redact("GET /health 200") == "GET /health 200"


def test_a_traceback_stays_on_its_events_line() -> None:
    token = make_token(SECRET, "preferences", 7, 1)
    try:
        raise ValueError(f"bad link /p/{token}")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed %s", ("here",), None)
        record.exc_info = sys.exc_info()
    line = OneLineFormatter("%(levelname)s %(message)s").format(record)
    assert "\n" not in line and "Traceback" in line and token not in line


def test_configure_logging_is_idempotent_and_filters_uvicorn_access() -> None:
    configure_logging("INFO")
    configure_logging("INFO")
    ours = [h for h in logging.getLogger().handlers if getattr(h, "paperboy", False)]
    assert len(ours) == 1
    access = logging.getLogger("uvicorn.access")
    assert sum(isinstance(f, RedactTokens) for f in access.filters) == 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_procfile_web_process_logs_no_token(paperboy_home: Path, tmp_path: Path) -> None:
    """The Procfile's own command, a real request with a real token, its real access log."""
    from models import upgrade

    upgrade()
    port = _free_port()
    env = {**os.environ, "PAPERBOY_HOME": str(paperboy_home), "SECRET_KEY": SECRET}
    for key in ("DATABASE_URL", "REDIS_URL"):
        env.pop(key, None)
    log_path = tmp_path / "web.log"
    command = [sys.executable, "-m", "uvicorn", "web.app:app", "--host", "127.0.0.1"]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [*command, "--port", str(port)],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    token = make_token(SECRET, "unsubscribe", 424242, 1)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                resp = httpx.get(f"http://127.0.0.1:{port}/u/{token}", timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    pytest.fail(f"web process did not start: {log_path.read_text()}")
                time.sleep(0.2)
        assert resp.status_code == 400  # no such subscriber: a readable refusal
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    text = log_path.read_text()
    assert "GET /u/[token]" in text, text
    assert token not in text
