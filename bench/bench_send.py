"""Sending: plan, render and send N digests end to end, the chunked path vs today's.

Real parts on this machine: a throwaway PostgreSQL database, Redis (db 13, flushed), the
SendGrid stand-in in its own process answering after `--delay` (50 ms), 1,000 papers (the
shared arXiv sample) and N subscribers. The chunked path runs on the Procfile's worker
(`celery -A worker.app worker`, prefork, `--workers` processes): one run, chunks of
SEND_CHUNK_SIZE, waves of SEND_CONCURRENCY, rate SEND_RATE_PER_SECOND. Today's per-digest
path (as of the house commit: one task per digest, claim, three queries, render, RFC 5322
message parsed back into a payload, a new HTTP client per digest, one UPDATE per outcome) is
replayed on a sample of the same digests in as many processes, against the same stand-in.
Then, in this process and one thread, where the CPU goes per email (process time): the wave's
database work, the render, the payload, the HTTP request, the batched record — and the two
HTTP clients SendGrid's path could use (httpx pooled vs the library's python-http-client).

Measured on the 2-core development machine (2026-11-29), 20,000 digests: 503 emails/s on the
chunked path (the default SEND_RATE_PER_SECOND, 500, is what stops it; 2.4 ms of worker CPU
per email) vs 44 on the per-digest path, 11x; 289-307 emails/s while other work shared the
machine (load average 1.6-3), 23-33 on the per-digest path.

    uv run python -m bench.bench_send              # 20,000 digests
    uv run python -m bench.bench_send --n 100000   # the issue's 100k
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

ADMIN = os.environ.get(
    "PAPERBOY_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REDIS = os.environ.get("PAPERBOY_BENCH_REDIS", "redis://127.0.0.1:6379/13")
ROOT = Path(__file__).resolve().parents[1]


def environment(db_url: str, api_url: str, home: Path) -> dict[str, str]:
    return {
        "DATABASE_URL": db_url,
        "REDIS_URL": REDIS,
        "SECRET_KEY": "bench-secret-key",
        "PAPERBOY_HOME": str(home),
        "MAIL_BACKEND": "sendgrid",
        "SENDGRID_API_KEY": "SG.test",
        "SENDGRID_API_URL": api_url,
        "LOG_LEVEL": "WARNING",
    }


def seed(n: int) -> None:
    """1,000 papers (the shared arXiv sample) and n confirmed subscribers, in bulk."""
    from sqlalchemy import insert

    from bench.bench_quality import load
    from models import Paper, Subscriber, session_scope

    docs, _ = load()
    now = datetime.now(UTC)
    papers = [
        {
            "id": f"2611.{i:05d}",
            "version": 1,
            "title": d.title,
            "abstract": d.abstract,
            "authors": [f"Author {i % 97}", f"Author {i % 89}"],
            "categories": ["cs.LG"],
            "abs_url": f"https://arxiv.org/abs/2611.{i:05d}",
            "upvotes": i % 7,
            "num_comments": 0,
            "ai_keywords": [],
            "first_seen_by": {"sample": now.isoformat()},
            "first_seen": now,
            "updated_at": now,
            "published": now,
        }
        for i, d in enumerate(docs[:1000])
    ]
    subscribers = [
        {
            "email": f"reader{i:06d}@example.org",
            "status": "active",
            "interests": " ".join(docs[(i * 7919) % len(docs)].title.split()[:6]),
            "categories": [],
            "authors": [],
            "muted_words": [],
            "frequency": "daily",
            "max_papers": 10,
            "send_hour": 0,
            "timezone": "UTC",
            "token_version": 1,
            "created_at": now,
            "confirmed_at": now,
        }
        for i in range(n)
    ]
    with session_scope() as session:
        session.connection().execute(insert(Paper.__table__), papers)
        for start in range(0, n, 5000):
            session.connection().execute(
                insert(Subscriber.__table__), subscribers[start : start + 5000]
            )


def group_cpu(pgid: int) -> float:
    """CPU seconds (user + system) used so far by every process of a process group."""
    tick, total = os.sysconf("SC_CLK_TCK"), 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # pgrp; utime, stime follow at 11, 12
            total += int(fields[11]) + int(fields[12])
    return total / tick


def wait_done(run_id: int, total: int, timeout: float) -> float:
    """Seconds until the run is done (polled every 0.5 s)."""
    from models import RunState, SendRun, session_scope

    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        with session_scope() as session:
            if session.get(SendRun, run_id).state == RunState.done:
                return time.perf_counter() - start
        time.sleep(0.5)
    raise SystemExit(f"run {run_id} did not finish {total} digests within {timeout:.0f}s")


# Today's per-digest path (the house commit), kept here only as the baseline.


def legacy_payload(message, ref: str) -> dict:
    from email.utils import parseaddr

    from emails.providers.sendgrid import RESERVED

    name, addr = parseaddr(str(message["From"]))
    text, html = message.get_body(("plain",)), message.get_body(("html",))
    return {
        "personalizations": [
            {
                "to": [{"email": parseaddr(str(message["To"]))[1]}],
                "custom_args": {"paperboy_ref": ref},
            }
        ],
        "from": {"email": addr} | ({"name": name} if name else {}),
        "subject": str(message["Subject"]),
        "content": [
            {"type": "text/plain", "value": text.get_content()},
            {"type": "text/html", "value": html.get_content()},
        ],
        "headers": {k: str(v) for k, v in message.items() if k.lower() not in RESERVED},
        "custom_args": {"paperboy_ref": ref},
    }


def legacy_send(digest_ids: list[int]) -> int:
    import httpx
    from sqlalchemy import update
    from sqlmodel import col

    from config import get_settings
    from emails.message import build_message
    from emails.render import build_digest
    from models import Digest, DigestStatus, Subscriber, Suppression, get_engine, session_scope
    from worker.delivery.send import digest_context

    get_engine.cache_clear()  # a fresh pool in this forked process
    settings = get_settings()
    sent = 0
    for digest_id in digest_ids:
        now = datetime.now(UTC)
        with session_scope() as session:
            claimed = session.exec(
                update(Digest)
                .where(col(Digest.id) == digest_id, col(Digest.status) == DigestStatus.planned)
                .values(status=DigestStatus.sending, claimed_at=now, attempts=Digest.attempts + 1)
            ).rowcount
        if not claimed:
            continue
        with session_scope() as session:
            digest = session.get(Digest, digest_id)
            sub = session.get(Subscriber, digest.subscriber_id)
            session.get(Suppression, sub.email)
            ctx = digest_context(session, digest, sub, settings)
        message = build_message(
            build_digest(ctx),
            to=ctx.to_email,
            sender=settings.from_email,
            message_id=f"<{ctx.digest_ref}@paperboy.example>",
            when=now,
        )
        client = httpx.Client(  # as today: a new client per digest, never closed
            base_url=settings.sendgrid_api_url,
            timeout=20,
            headers={"Authorization": f"Bearer {settings.sendgrid_api_key.get_secret_value()}"},
        )
        resp = client.post("/v3/mail/send", json=legacy_payload(message, ctx.digest_ref))
        with session_scope() as session:
            session.exec(
                update(Digest)
                .where(col(Digest.id) == digest_id)
                .values(
                    status=DigestStatus.sent,
                    sent_at=datetime.now(UTC),
                    provider_message_id=resp.headers.get("X-Message-Id"),
                )
            )
        sent += 1
    return sent


def replan(ids: list[int]) -> None:
    from sqlalchemy import update
    from sqlmodel import col

    from models import Digest, session_scope

    with session_scope() as session:
        for start in range(0, len(ids), 5000):
            session.exec(
                update(Digest)
                .where(col(Digest.id).in_(ids[start : start + 5000]))
                .values(status="planned", attempts=0, next_attempt_at=None, run_id=None)
            )


def cpu_split(ids: list[int], wave: int) -> dict[str, float]:
    """CPU milliseconds per email by phase: the chunked path's own steps, one thread, in this
    process (render and payload timed where the path calls them, and taken out of the step
    around them)."""
    from config import get_settings
    from emails.providers import get_backend, sendgrid
    from models import session_scope
    from worker.delivery import runs
    from worker.delivery import send as delivery

    settings = get_settings()
    backend = get_backend(settings)
    with session_scope() as session:
        run = runs.start(session, ids)
    phases = dict.fromkeys(("claim+load (DB)", "render", "payload", "HTTP", "record (DB)"), 0.0)

    def timing(name, fn):
        def timed(*a, **kw):
            t = time.process_time()
            try:
                return fn(*a, **kw)
            finally:
                phases[name] += time.process_time() - t

        return timed

    delivery.build_digest = timing("render", delivery.build_digest)
    sendgrid.payload = timing("payload", sendgrid.payload)
    claim, load = (
        timing("claim+load (DB)", delivery.claim),
        timing("claim+load (DB)", delivery.load),
    )
    send, record = timing("HTTP", backend.send), timing("record (DB)", delivery.record)
    for start in range(0, len(ids), wave):
        now = datetime.now(UTC)
        with session_scope() as session:
            jobs, _ = load(
                session, claim(session, run.id, ids[start : start + wave], now), settings, now
            )
        results = [delivery.outcome(job, send(job.envelope), settings, now) for job in jobs]
        with session_scope() as session:
            record(session=session, run_id=run.id, results=results, settings=settings, now=now)
    phases["claim+load (DB)"] -= phases["render"]
    phases["HTTP"] -= phases["payload"]
    return {k: v * 1000 / len(ids) for k, v in phases.items()}


def clients(api_url: str, n: int) -> dict[str, tuple[float, float]]:
    """(CPU ms, wall ms) per request, sequential: httpx pooled vs python-http-client."""
    import python_http_client

    from emails.providers.sendgrid import client as httpx_client

    body = {
        "personalizations": [{"to": [{"email": "a@example.org"}]}],
        "from": {"email": "b@example.org"},
        "subject": "s",
        "content": [
            {"type": "text/plain", "value": "x" * 3000},
            {"type": "text/html", "value": "<p>" + "x" * 20000},
        ],
    }
    pooled = httpx_client(api_url, "SG.test", 20.0, 4)
    library = python_http_client.Client(
        host=api_url, request_headers={"Authorization": "Bearer SG.test"}
    )
    out = {}
    for name, post in (
        ("httpx, pooled keep-alive", lambda: pooled.post("/v3/mail/send", json=body)),
        ("python-http-client (sendgrid's)", lambda: library.v3.mail.send.post(request_body=body)),
    ):
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(n):
            post()
        out[name] = (
            (time.process_time() - cpu) * 1000 / n,
            (time.perf_counter() - wall) * 1000 / n,
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description="chunked sending vs the per-digest path")
    parser.add_argument("--n", type=int, default=20_000, help="digests through the chunked path")
    parser.add_argument("--legacy", type=int, default=2_000, help="digests through today's path")
    parser.add_argument("--profile", type=int, default=1_000, help="digests for the CPU split")
    parser.add_argument("--delay", type=float, default=0.05, help="stand-in answer time, s")
    parser.add_argument("--workers", type=int, default=4, help="worker processes (both paths)")
    args = parser.parse_args()

    from sqlalchemy import create_engine, text

    admin = create_engine(ADMIN, isolation_level="AUTOCOMMIT")
    name = f"paperboy_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    home = Path(tempfile.mkdtemp(prefix="paperboy-bench-"))
    standin = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.emails.providers.sendgrid_standin",
            "--delay",
            str(args.delay),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    worker = None
    try:
        api_url = standin.stdout.readline().strip()
        env = environment(ADMIN.rsplit("/", 1)[0] + f"/{name}", api_url, home)
        os.environ.update(env)
        import redis

        redis.Redis.from_url(REDIS).flushdb()
        from config import get_settings
        from models import session_scope, upgrade, utcnow
        from tests.worker.processes import start_worker, stop
        from worker import tasks
        from worker.delivery import runs
        from worker.ranking.planning import plan_edition

        upgrade()
        seed(args.n)
        t = time.perf_counter()
        with session_scope() as session:
            planned = plan_edition(session, get_settings(), utcnow(), ignore_send_hour=True).planned
        plan_s = time.perf_counter() - t
        worker = start_worker(  # the Procfile's worker, as the fault tests start it
            {"LOG_LEVEL": "INFO"}, home / "worker.log", f"--concurrency={args.workers}"
        )
        with session_scope() as session:
            run = runs.start(session, planned)
        cpu_before = {g: group_cpu(p.pid) for g, p in (("worker", worker), ("stand-in", standin))}
        tasks.dispatch(run.id, planned)
        new_s = wait_done(run.id, len(planned), timeout=3600)
        cpu = {
            g: group_cpu(p.pid) - cpu_before[g]
            for g, p in (("worker", worker), ("stand-in", standin))
        }
        with session_scope() as session:
            counts = runs.counts(session, runs.get(session, run.id))
        stop(worker)
        worker = None

        sample = planned[: args.legacy]
        replan(sample)
        shares = [sample[i :: args.workers] for i in range(args.workers)]
        t = time.perf_counter()
        with multiprocessing.get_context("fork").Pool(args.workers) as pool:
            legacy_sent = sum(pool.map(legacy_send, shares))
        legacy_s = time.perf_counter() - t

        profile = planned[: args.profile]
        replan(profile)
        split = cpu_split(profile, get_settings().send_concurrency)
        http = clients(api_url, 200)
    finally:
        if worker is not None:
            stop(worker)
        standin.send_signal(2)
        tail = standin.communicate(timeout=30)[0]
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    n = len(planned)
    print(
        f"\n{n} digests ({args.n} subscribers x 1,000 papers), stand-in answering in "
        f"{args.delay * 1000:.0f} ms, {args.workers} worker processes, {os.cpu_count()} CPUs "
        f"(load average at the end {os.getloadavg()[0]:.1f}: the machine is shared)"
    )
    print(f"plan (rank + write digests):          {plan_s:7.1f} s")
    print(f"{'path':<38}{'digests':>9}{'seconds':>10}{'emails/s':>10}")
    for label, sent, seconds in (
        ("chunked (this branch, Celery worker)", counts.sent, new_s),
        ("per digest (house commit), replayed", legacy_sent, legacy_s),
    ):
        print(f"{label:<38}{sent:>9}{seconds:>10.1f}{sent / seconds:>10.0f}")
    print(
        f"speed-up: {counts.sent / new_s / (legacy_sent / legacy_s):.1f}x;  "
        f"run counts: sent {counts.sent}, failed {counts.failed}, skipped {counts.skipped}"
    )
    print(
        "CPU per email during the chunked run (ms): "
        + ", ".join(
            f"{g} processes {seconds * 1000 / counts.sent:.2f}" for g, seconds in cpu.items()
        )
    )
    print("\nCPU per email, chunked path, one thread (ms):")
    for phase, ms in split.items():
        print(f"  {phase:<18}{ms:6.2f}")
    print(f"  {'total':<18}{sum(split.values()):6.2f}")
    print("\nHTTP client, sequential posts of a digest-sized body (ms per request):")
    for name_, (cpu, wall) in http.items():
        print(f"  {name_:<34} CPU {cpu:5.2f}   wall {wall:6.1f}")
    total = tail.strip().splitlines()[-1] if tail.strip() else "?"
    print(
        f"\nstand-in over all phases (the later ones resend the same digests on purpose): {total}"
    )


if __name__ == "__main__":
    main()
