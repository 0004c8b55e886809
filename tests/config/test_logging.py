"""Logging: one line per event, and no signed token in any line, uvicorn's access log included."""

from __future__ import annotations

import logging
import os
import shlex
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


def _procfile_web(port: int) -> list[str]:
    """The Procfile's `web` command as written, on a free local port."""
    line = next(
        line for line in (REPO / "Procfile").read_text().splitlines() if line.startswith("web:")
    )
    words = shlex.split(line.removeprefix("web:"))
    assert words[0] == "uvicorn", line
    words = [str(port) if w == "${PORT:-8000}" else w for w in words]
    words = ["127.0.0.1" if w == "0.0.0.0" else w for w in words]
    return [sys.executable, "-m", *words]


def test_the_procfile_web_process_logs_no_token(paperboy_home: Path, tmp_path: Path) -> None:
    """The Procfile's own command, real requests with a real and a tampered token, its real
    log: an access line for each, every token replaced, no logging error, no signature."""
    from models import upgrade

    upgrade()
    port = _free_port()
    env = {**os.environ, "PAPERBOY_HOME": str(paperboy_home), "SECRET_KEY": SECRET}
    for key in ("DATABASE_URL", "REDIS_URL"):
        env.pop(key, None)
    log_path = tmp_path / "web.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            _procfile_web(port), cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    token = make_token(SECRET, "unsubscribe", 424242, 1)
    payload, signature = token.rsplit(".", 1)
    forged = "A" * len(signature) if signature != "A" * len(signature) else "B" * len(signature)
    tampered = f"{payload}.{forged}"
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
        assert httpx.get(f"http://127.0.0.1:{port}/u/{tampered}", timeout=5).status_code == 400
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    text = log_path.read_text()
    access = [line for line in text.splitlines() if '"GET /u/' in line]
    assert len(access) == 2 and all('"GET /u/[token] HTTP/1.1" 400' in a for a in access), text
    assert "Logging error" not in text and "Traceback" not in text, text
    for secret_part in (token, tampered, signature, forged):
        assert secret_part not in text


def test_a_chained_bad_signature_is_redacted_from_the_traceback() -> None:
    """A tampered link's traceback names its signature alone (itsdangerous' message); neither
    that nor the token reaches any handler, whatever formatter it uses."""
    from emails.tokens import InvalidToken, read_token

    token = make_token(SECRET, "preferences", 7, 1)
    payload, signature = token.rsplit(".", 1)
    tampered = f"{payload}.{signature[::-1]}"
    try:
        read_token(SECRET, "preferences", tampered)
    except InvalidToken:
        record = logging.LogRecord(
            "uvicorn.error", logging.ERROR, __file__, 1, "bad link %s", (tampered,), None
        )
        record.exc_info = sys.exc_info()
    assert RedactTokens().filter(record)
    line = logging.Formatter("%(message)s").format(record)  # not ours: uvicorn's kind
    assert "Signature [token] does not match" in line and "bad link [token]" in line
    assert signature[::-1] not in line and tampered not in line


def test_redaction_keeps_the_arguments_a_formatter_unpacks() -> None:
    """uvicorn's access formatter unpacks five arguments: they stay five, tokens replaced."""
    token = make_token(SECRET, "feedback", 9, 1)
    args = ("127.0.0.1:5", "GET", f"/f/{token}", "1.1", 200)
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d', args, None
    )
    assert RedactTokens().filter(record)
    assert record.args == ("127.0.0.1:5", "GET", "/f/[token]", "1.1", 200)
    assert record.getMessage() == '127.0.0.1:5 - "GET /f/[token] HTTP/1.1" 200'
