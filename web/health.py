"""GET /health: can this process reach what it needs? 503 names the part that failed. With a
broker it also says whether beat is alive (a warning, not a failure: workers still send).

It runs on its own thread (not the request pool) over a connection outside the database pool,
so it answers while a burst of requests holds every worker thread and pooled connection.
"""

from __future__ import annotations

import asyncio
import logging

import redis
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from config import Settings
from models import utcnow
from models.db import get_probe_engine
from web.deps import SettingsDep
from worker.delivery import liveness

router = APIRouter()
log = logging.getLogger(__name__)


@router.get("/health")
async def health(settings: SettingsDep) -> JSONResponse:
    checks = await asyncio.to_thread(_checks, settings)
    ok = not any(v.startswith("failed") for v in checks.values())
    return JSONResponse({"status": "ok" if ok else "failing", **checks}, 200 if ok else 503)


def _checks(settings: Settings) -> dict[str, str]:
    checks: dict[str, str] = {}
    try:
        with get_probe_engine(settings.db_url).connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as e:  # any failure is the answer, not a crash
        log.warning("health: database check failed: %s", e)
        checks["database"] = f"failed ({type(e).__name__})"
    if settings.redis_url:
        client = redis.Redis.from_url(
            settings.redis_url, socket_connect_timeout=2, socket_timeout=2
        )
        try:
            client.ping()
            checks["redis"] = "ok"
            missing = liveness.missing(settings, utcnow())
            checks["beat"] = f"warning: {missing}" if missing else "ok"
        except redis.RedisError as e:
            log.warning("health: redis check failed: %s", e)
            checks["redis"] = f"failed ({type(e).__name__})"
        finally:
            client.close()
    else:
        checks["redis"] = "not configured (tasks run in-process)"
    return checks
