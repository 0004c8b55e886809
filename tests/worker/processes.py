"""Real processes for the delivery tests: Celery workers (each its own process group, so a
SIGKILL takes the whole worker), a Redis of the test's own, and the web app serving webhooks."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import uvicorn

from tests import REPO


def free_port(low: int = 0, high: int = 0) -> int:
    """A free port, from [low, high] when given (our own Redis uses 6390-6399)."""
    for port in range(low, high + 1) if low else [0]:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return s.getsockname()[1]
    pytest.skip(f"no free port in {low}-{high}")


def wait_for(predicate, what: str, timeout: float = 60.0, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            tail = log.read_text()[-4000:] if log and log.exists() else ""
            pytest.fail(f"timed out waiting for {what}\n{tail}")
        time.sleep(0.1)


def start_worker(env: dict[str, str], log: Path, *extra: str) -> subprocess.Popen:
    """`celery -A worker.app worker` as the Procfile runs it (prefork), in its own process
    group; returns once it is ready."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "worker.app",
                "worker",
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                *extra,
            ],
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=REPO,
            start_new_session=True,
        )
    start = log.stat().st_size if log.exists() else 0
    try:
        wait_for(
            lambda: proc.poll() is not None or b"ready." in log.read_bytes()[start:],
            "the celery worker to start",
            log=log,
        )
    except BaseException:  # never leave a worker behind to take another run's tasks
        stop(proc)
        raise
    if proc.poll() is not None:
        pytest.fail(f"celery worker exited:\n{log.read_text()[-3000:]}")
    return proc


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    """Signal the whole process group; wait for it (SIGKILL if it lingers)."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, sig)
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        except ProcessLookupError:
            pass


def start_redis(port: int, workdir: Path) -> subprocess.Popen:
    """A Redis that forgets everything when it stops (no RDB, no AOF)."""
    workdir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    wait_for(lambda: _answers(port), f"redis-server on {port}")
    return proc


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


class WebApp:
    """The real web app (webhooks included) on a port of this test process."""

    def __init__(self) -> None:
        self.port = free_port()
        config = uvicorn.Config(
            "web.app:app", host="127.0.0.1", port=self.port, log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> WebApp:
        self.thread.start()
        wait_for(lambda: self.server.started, "the web app")
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)

    @property
    def webhook_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhooks/sendgrid"
