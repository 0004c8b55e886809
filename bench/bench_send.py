"""Sending: plan and send an edition of N readers end to end, by the Procfile's worker alone.

Real parts on this machine: a throwaway PostgreSQL database, Redis (db 13, flushed;
PAPERBOY_BENCH_REDIS), the SendGrid stand-in in its own process answering after `--delay`
(50 ms), 1,000 papers (the shared arXiv sample) and N subscribers. `paperboy.plan_due` goes to
the worker (`celery -A worker.app worker`, prefork, `--workers` processes, no beat), which fits
the model once, plans the edition in chunks of PLAN_CHUNK_SIZE and sends it in chunks of
SEND_CHUNK_SIZE; the rate is first claim to last send. CPU per email is read from /proc for the
worker's process group, this database's PostgreSQL backends, the Redis server and the stand-in
(reported apart), and the worker's peak memory per process. Then, in this process and one
thread, CPU per email by stage: half of `--profile` readers planned afresh and sent through
the worker's own path to warm up as a worker is, the other half measured the same way
(`plan_edition`, then `send_wave`: plan, claim+load, render, payload, HTTP, last word, rate
limit, record, sessions); what the worker spent beyond the stages is Celery's and the rest.
`--legacy` replays the per-digest path of the house commit on that many digests.

    uv run python -m bench.bench_send              # 10,000 readers
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


def cpu_of(match) -> float:
    """CPU seconds (user + system) used so far by every process for which
    `match(pgrp, cmdline)` holds."""
    tick, total = os.sysconf("SC_CLK_TCK"), 0
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if match(int(fields[2]), cmdline):  # pgrp; utime, stime follow at 11, 12
            total += int(fields[11]) + int(fields[12])
    return total / tick


def group_cpu(pgid: int) -> float:
    """CPU seconds used so far by every process of a process group."""
    return cpu_of(lambda pgrp, _: pgrp == pgid)


def peak_rss_mb(pgid: int) -> float:
    """The largest peak resident memory (VmHWM) of a process group's processes, in MB."""
    peak = 0
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if int((proc / "stat").read_text().rsplit(")", 1)[1].split()[2]) != pgid:
                continue
            status = (proc / "status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                peak = max(peak, int(line.split()[1]))
    return peak / 1024


def server_cpu(db_name: str) -> dict[str, float]:
    """CPU seconds so far of the servers: PostgreSQL's backends for this database only; the
    Redis server (shared with whatever else uses it: an upper bound)."""
    return {
        "PostgreSQL": cpu_of(lambda _, cmd: cmd.startswith("postgres:") and f" {db_name} " in cmd),
        "Redis": cpu_of(lambda _, cmd: cmd.startswith("redis-server") and ":6379" in cmd),
    }


def wait_done(start: float, timeout: float) -> tuple[int, float]:
    """The run plan_due started, and seconds from `start` until it is done (polled every
    0.2 s)."""
    from sqlmodel import func, select

    from models import RunState, SendRun, session_scope

    while time.perf_counter() - start < timeout:
        with session_scope() as session:
            run = session.get(SendRun, session.exec(select(func.max(SendRun.id))).one() or 0)
            if run is not None and run.state == RunState.done:
                return run.id, time.perf_counter() - start
        time.sleep(0.2)
    raise SystemExit(f"the edition was not planned and sent within {timeout:.0f}s")


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


def unplan(subscriber_ids: list[int]) -> None:
    """These readers' digests deleted: planned again, they are planned afresh."""
    from sqlalchemy import delete
    from sqlmodel import col, select

    from models import Digest, DigestItem, session_scope

    with session_scope() as session:
        ids = select(Digest.id).where(col(Digest.subscriber_id).in_(subscriber_ids))
        session.exec(delete(DigestItem).where(col(DigestItem.digest_id).in_(ids)))
        session.exec(delete(Digest).where(col(Digest.subscriber_id).in_(subscriber_ids)))


def cpu_split(subscriber_ids: list[int]) -> dict[str, float]:
    """CPU milliseconds per email by stage, one thread, in this process: these readers planned
    afresh, then sent through the worker's own `send_wave` (each stage timed where the path
    calls it, and taken out of the stage around it; "sessions and commits" is the rest)."""
    from concurrent.futures import ThreadPoolExecutor

    from config import get_settings
    from emails.providers import get_backend, sendgrid
    from models import session_scope, utcnow
    from worker.delivery import ratelimit, runs
    from worker.delivery import send as delivery
    from worker.ranking import planning

    settings = get_settings()
    unplan(subscriber_ids)
    cpu = time.process_time()
    with session_scope() as session:
        ids = planning.plan_edition(
            session, settings, utcnow(), True, subscriber_ids=subscriber_ids
        ).planned
        run = runs.start(session, ids)
    stages = {"plan (rank + write)": (time.process_time() - cpu) * 1000 / len(ids)}
    names = (
        "claim+load (PostgreSQL)",
        "render",
        "payload",
        "HTTP",
        "last word (PostgreSQL)",
        "rate limit (Redis)",
        "record (PostgreSQL)",
    )
    spent = dict.fromkeys(names, 0.0)

    def timing(name, fn):
        def timed(*a, **kw):
            t = time.process_time()
            try:
                return fn(*a, **kw)
            finally:
                spent[name] += time.process_time() - t

        return timed

    backend = get_backend(settings)
    backend.send = timing("HTTP", backend.send)
    patches = {
        (delivery, "build_digest"): "render",
        (sendgrid, "payload"): "payload",
        (delivery, "claim"): "claim+load (PostgreSQL)",
        (delivery, "load"): "claim+load (PostgreSQL)",
        (delivery, "last_word"): "last word (PostgreSQL)",
        (delivery, "record"): "record (PostgreSQL)",
        (ratelimit.Limiter, "acquire"): "rate limit (Redis)",
    }
    real = {(owner, attr): getattr(owner, attr) for owner, attr in patches}
    for (owner, attr), name in patches.items():
        setattr(owner, attr, timing(name, real[owner, attr]))
    try:
        cpu = time.process_time()
        with ThreadPoolExecutor(1) as pool:
            for start in range(0, len(ids), settings.send_concurrency):
                wave = ids[start : start + settings.send_concurrency]
                delivery.send_wave(run.id, wave, settings=settings, backend=backend, pool=pool)
        total = time.process_time() - cpu
    finally:
        for key, fn in real.items():
            setattr(*key, fn)
    spent["claim+load (PostgreSQL)"] -= spent["render"]
    spent["HTTP"] -= spent["payload"]
    spent["sessions and commits"] = total - sum(spent.values())
    return stages | {k: v * 1000 / len(ids) for k, v in spent.items()}


def clients(api_url: str, n: int) -> dict[str, tuple[float, float]]:
    """(CPU ms, wall ms) per request, sequential, of a digest-sized body: the backend's kept-alive
    http.client, httpx pooled (an earlier transport), and python-http-client (the library's)."""
    import json

    import httpx
    import python_http_client

    from emails.providers import keepalive

    body = {
        "personalizations": [{"to": [{"email": "a@example.org"}]}],
        "from": {"email": "b@example.org"},
        "subject": "s",
        "content": [
            {"type": "text/plain", "value": "x" * 3000},
            {"type": "text/html", "value": "<p>" + "x" * 20000},
        ],
    }
    url = f"{api_url}/v3/mail/send"
    kept = keepalive.origin(api_url, {"Authorization": "Bearer SG.test"}, 20.0)
    before = httpx.Client(headers={"Authorization": "Bearer SG.test"})
    library = python_http_client.Client(
        host=api_url, request_headers={"Authorization": "Bearer SG.test"}
    )
    out = {}
    for name, post in (
        (
            "http.client kept alive (the backend's)",
            lambda: keepalive.post(kept, "/v3/mail/send", json.dumps(body).encode()),
        ),
        ("httpx, pooled keep-alive", lambda: before.post(url, json=body)),
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
    parser.add_argument("--n", type=int, default=10_000, help="readers planned and sent")
    parser.add_argument("--legacy", type=int, default=0, help="digests through the old path")
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
        from sqlmodel import func, select

        redis.Redis.from_url(REDIS).flushdb()
        from models import Digest, SendRun, Subscriber, session_scope, upgrade
        from tests.worker.processes import start_worker, stop
        from worker import tasks
        from worker.delivery import runs

        upgrade()
        seed(args.n)
        worker = start_worker(  # the Procfile's worker, as the fault tests start it; no beat
            {"LOG_LEVEL": "INFO"}, home / "worker.log", f"--concurrency={args.workers}"
        )
        groups = {"worker": worker.pid, "stand-in": standin.pid}
        before = {g: group_cpu(p) for g, p in groups.items()} | server_cpu(name)
        start = time.perf_counter()
        tasks.plan_due.delay(ignore_send_hour=True)
        run_id, wall = wait_done(start, timeout=7200)
        after = {g: group_cpu(p) for g, p in groups.items()} | server_cpu(name)
        cpu = {g: after[g] - before[g] for g in after}
        peak = peak_rss_mb(worker.pid)
        with session_scope() as session:
            run = session.get(SendRun, run_id)
            counts = runs.counts(session, run)
            last = session.exec(select(func.max(Digest.sent_at)).where(Digest.run_id == run_id))
            first_to_last = (last.one() - run.created_at).total_seconds()
            planned = list(session.exec(select(Digest.id).where(Digest.run_id == run_id)))
            readers = list(
                session.exec(select(Subscriber.id).order_by(Subscriber.id).limit(args.profile))
            )
        stop(worker)
        worker = None
        sent = counts.sent  # printed now: a later phase failing loses nothing
        print(
            f"\n{args.n} readers x 1,000 papers, planned and sent end to end by the Procfile's "
            f"worker alone ({args.workers} processes, no beat), stand-in answering in "
            f"{args.delay * 1000:.0f} ms, {os.cpu_count()} CPUs (load average at the end "
            f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}: the machine is shared)"
        )
        print(
            f"run {run_id}: sent {sent}, failed {counts.failed}, skipped {counts.skipped}; "
            f"plan + send first to last {first_to_last:.1f} s = "
            f"{sent / first_to_last:.0f} emails/s "
            f"(done seen after {wall:.1f} s); peak memory of a worker process {peak:.0f} MB"
        )
        print("CPU per email during the run, by process (ms):")
        for group, seconds in cpu.items():
            print(f"  {group:<30}{seconds * 1000 / sent:6.2f}")
        ours = sum(v for g, v in cpu.items() if g != "stand-in")
        print(f"  {'all but the stand-in':<30}{ours * 1000 / sent:6.2f}")

        legacy_sent, legacy_s = 0, 0.0
        if args.legacy:
            sample = planned[: args.legacy]
            replan(sample)
            shares = [sample[i :: args.workers] for i in range(args.workers)]
            t = time.perf_counter()
            with multiprocessing.get_context("fork").Pool(args.workers) as pool:
                legacy_sent = sum(pool.map(legacy_send, shares))
            legacy_s = time.perf_counter() - t

        cpu_split(readers[: len(readers) // 2])  # warm: caches and the model, as in a worker
        readers = readers[len(readers) // 2 :]
        split = cpu_split(readers)
        http = clients(api_url, 200)
    finally:
        if worker is not None:
            stop(worker)
        standin.send_signal(2)
        tail = standin.communicate(timeout=30)[0]
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    if legacy_sent:
        print(
            f"per digest (house commit), replayed: {legacy_sent} in {legacy_s:.1f} s = "
            f"{legacy_sent / legacy_s:.0f} emails/s"
        )
    print(f"\nCPU per email by stage, one thread, {len(readers)} readers (ms):")
    for stage, ms in split.items():
        print(f"  {stage:<30}{ms:6.2f}")
    in_stages = sum(split.values())
    print(f"  {'total':<30}{in_stages:6.2f}")
    print(
        f"  {'Celery and the rest (worker)':<30}{cpu['worker'] * 1000 / sent - in_stages:6.2f}"
        "   (the worker's CPU per email in the run, less the stages above)"
    )
    print("\nHTTP client, sequential posts of a digest-sized body (ms per request):")
    for name_, (c, w) in http.items():
        print(f"  {name_:<34} CPU {c:5.2f}   wall {w:6.1f}")
    total = tail.strip().splitlines()[-1] if tail.strip() else "?"
    print(f"\nstand-in over all phases (the later ones resend digests on purpose): {total}")


if __name__ == "__main__":
    main()
