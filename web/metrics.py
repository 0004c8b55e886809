"""GET /metrics: Prometheus text format for the operator's scraper, behind METRICS_TOKEN.

Every value is read from the database (and the broker's queue lengths) at scrape time, so
every worker process is counted and a restart loses nothing: the per-run email totals are
counters because a run's sent, failed, bounced and complained counts only grow.
"""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from sqlalchemy import func
from sqlmodel import select
from starlette.concurrency import run_in_threadpool

from config import Settings
from models import Subscriber, SubscriberStatus, session_scope
from web.admin.dashboard import queue_depths
from web.deps import SettingsDep
from worker.delivery import liveness, overview

router = APIRouter()
RUNS = 20  # the latest runs exported: label cardinality stays bounded
QUANTILES = (0.5, 0.9, 0.99)


class DatabaseCollector:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def collect(self):
        with session_scope() as session:
            lines = overview.recent_runs(session, RUNS)
            complaints = overview.complaints_by_run(session, [x.counts.run_id for x in lines])
            statuses = dict(
                session.exec(
                    select(Subscriber.status, func.count()).group_by(Subscriber.status)
                ).all()
            )
            latencies = overview.send_latencies(session)
        totals = {
            name: CounterMetricFamily(f"paperboy_emails_{name}", help_, labels=["run"])
            for name, help_ in (
                ("sent", "Digests sent, by run."),
                ("failed", "Digests failed, by run."),
                ("bounced", "Sent digests the provider reported bounced or dropped, by run."),
                ("complained", "Sent digests reported as spam, by run."),
            )
        }
        progress = GaugeMetricFamily(
            "paperboy_run_progress_ratio", "Share of a run's digests settled.", labels=["run"]
        )
        pending = GaugeMetricFamily(
            "paperboy_run_pending", "Digests of a run still to send.", labels=["run", "state"]
        )
        for line in lines:
            c, run = line.counts, [str(line.counts.run_id)]
            totals["sent"].add_metric(run, c.sent)
            totals["failed"].add_metric(run, c.failed)
            totals["bounced"].add_metric(run, c.bounced)
            totals["complained"].add_metric(run, complaints.get(c.run_id, 0))
            progress.add_metric(run, (c.planned - c.pending) / c.planned if c.planned else 1.0)
            pending.add_metric([*run, c.state], c.pending)
        yield from totals.values()
        yield progress
        yield pending
        readers = GaugeMetricFamily(
            "paperboy_subscribers", "Subscribers by status.", labels=["status"]
        )
        for status in SubscriberStatus:
            readers.add_metric([status.value], statuses.get(status, 0))
        yield readers
        latency = GaugeMetricFamily(
            "paperboy_send_latency_seconds",
            "Claim to recorded outcome of the latest 1000 sends (provider answer time plus the "
            "wave's work), by quantile.",
            labels=["quantile"],
        )
        for q in QUANTILES:
            value = latencies[min(int(q * len(latencies)), len(latencies) - 1)] if latencies else 0
            latency.add_metric([str(q)], value)
        yield latency
        queues = GaugeMetricFamily(
            "paperboy_queue_depth", "Tasks waiting in each Celery queue.", labels=["queue"]
        )
        for name, depth in queue_depths(self.settings).items():
            if isinstance(depth, int):
                queues.add_metric([name], depth)
        yield queues
        beat = liveness.last_beat(self.settings)
        if beat is not None:
            last = GaugeMetricFamily(
                "paperboy_reaper_last_beat_timestamp_seconds",
                "When the send reaper (beat) last ran, Unix time.",
            )
            last.add_metric([], beat.timestamp())
            yield last


def _authorized(request: Request, settings: Settings) -> bool:
    if settings.metrics_token is None:
        return False
    given = request.headers.get("authorization", "")
    expected = f"Bearer {settings.metrics_token.get_secret_value()}"
    return secrets.compare_digest(given.encode(), expected.encode())


@router.get("/metrics")
async def metrics(request: Request, settings: SettingsDep) -> Response:
    if not _authorized(request, settings):
        return Response(
            "a bearer token (METRICS_TOKEN) is required\n",
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            media_type="text/plain",
        )
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector(settings))
    body = await run_in_threadpool(generate_latest, registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
