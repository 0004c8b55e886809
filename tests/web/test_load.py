"""A one-click unsubscribe storm against the Procfile's web process on PostgreSQL.

Gmail and Yahoo send one-click unsubscribes in bursts after every campaign; losing one is a
legal problem. 500 at once, on loopback, bounded: every one is recorded, none answers 5xx, and
/health answers throughout. Latencies are reported (stdout and tests/artifacts/load.json),
never asserted.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import select

from config import get_settings
from emails.tokens import make_token
from models import Subscriber, SubscriberStatus, Suppression, session_scope, upgrade
from tests.web.conftest import REPO, free_port, web_server

pytestmark = pytest.mark.services

ARTIFACTS = REPO / "tests" / "artifacts"
STORM = 500


@pytest.fixture
def web_process(production: str, paperboy_home: Path) -> Iterator[str]:
    """The Procfile's web process on PostgreSQL, with Redis as in production."""
    upgrade()
    with web_server(paperboy_home, free_port()) as base:
        yield base


def _subscribers(n: int) -> list[int]:
    with session_scope() as session:
        rows = [
            Subscriber(email=f"reader{i}@example.org", status=SubscriberStatus.active)
            for i in range(n)
        ]
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]


ONE_CLICK = b"List-Unsubscribe=One-Click"


async def _post(port: int, path: str) -> tuple[int, float]:
    """One one-click on its own connection, as a mail provider sends it (no cookies); raw
    asyncio streams, so the client's own overhead stays small beside the server's."""
    started = time.perf_counter()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(ONE_CLICK)}\r\nConnection: close\r\n\r\n".encode()
            + ONE_CLICK
        )
        await writer.drain()
        head = await asyncio.wait_for(reader.read(), timeout=60)
        writer.close()
        code = int(head.split(b" ", 2)[1])
    except (OSError, TimeoutError, ValueError, IndexError):
        code = 0  # lost: refused, reset or timed out
    return code, time.perf_counter() - started


async def _storm(base: str, paths: list[str]) -> tuple[list[tuple[int, float]], list[int]]:
    """Every one-click at once, and /health polled while they run."""
    port = int(base.rsplit(":", 1)[1])
    health: list[int] = []
    done = asyncio.Event()

    async def watch() -> None:
        async with httpx.AsyncClient(base_url=base, timeout=10) as probe:
            while not done.is_set():
                try:
                    health.append((await probe.get("/health")).status_code)
                except httpx.HTTPError:
                    health.append(0)
                await asyncio.sleep(0.1)

    watcher = asyncio.create_task(watch())
    await asyncio.sleep(0.05)
    results = await asyncio.gather(*(_post(port, p) for p in paths))
    done.set()
    await watcher
    return results, health


def test_500_concurrent_one_click_unsubscribes_are_all_recorded(web_process: str) -> None:
    ids = _subscribers(STORM)
    secret = get_settings().signing_key()
    urls = [f"/u/{make_token(secret, 'unsubscribe', sid, 1)}" for sid in ids]
    started = time.perf_counter()
    results, health = asyncio.run(_storm(web_process, urls))
    elapsed = time.perf_counter() - started
    codes = [code for code, _ in results]
    latencies = sorted(seconds for _, seconds in results)
    report = {
        "requests": len(results),
        "ok": codes.count(200),
        "5xx": sum(1 for c in codes if c >= 500),
        "lost": codes.count(0),
        "min_s": round(latencies[0], 3),
        "p50_s": round(statistics.median(latencies), 3),
        "p99_s": round(latencies[int(len(latencies) * 0.99) - 1], 3),
        "max_s": round(latencies[-1], 3),
        "wall_s": round(elapsed, 3),
        "health_checks": len(health),
        "health_ok": health.count(200),
    }
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "load.json").write_text(json.dumps(report, indent=2))
    print(f"\none-click storm: {report}")
    assert codes == [200] * STORM, report
    assert health and set(health) == {200}, report  # answered throughout the storm
    with session_scope() as session:
        unsubscribed = session.exec(
            select(func.count())
            .select_from(Subscriber)
            .where(Subscriber.status == SubscriberStatus.unsubscribed)
        ).one()
        suppressed = session.exec(select(func.count()).select_from(Suppression)).one()
    assert (unsubscribed, suppressed) == (STORM, STORM)
