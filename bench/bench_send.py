"""Sending: plan and send an edition of N readers end to end, by the Procfile's worker alone,
optionally against a baseline commit measured in the same session.

Real parts on this machine: a throwaway PostgreSQL database, Redis (db 6, flushed;
PAPERBOY_BENCH_REDIS; refused while another client is on it), the SendGrid stand-in in its own
process answering after `--delay` (50 ms), 1,000 papers (the shared arXiv sample) and N
subscribers. `paperboy.plan_due` goes to the worker (`celery -A worker.app worker`, prefork,
`--workers` processes, no beat), which fits the model once, plans the edition in chunks of
PLAN_CHUNK_SIZE and sends it in chunks of SEND_CHUNK_SIZE; the rate is first claim to last send
(`--rate` sets SEND_RATE_PER_SECOND, the global limit: 500 by default). CPU per email is read
from /proc for the worker's process group, this database's PostgreSQL backends, the Redis
server and the stand-in (reported apart); also the worker's peak memory per process, the
database's size and, with `--timeline`, each worker process's CPU second by second next to the
emails sent. Then, in one process and one thread, CPU per email by stage: half of `--profile`
readers planned afresh and sent through the worker's own path to warm up as a worker is (its
garbage collector set as the worker sets it), the other half measured the same way (plan,
then `send_wave`: claim+load, render, payload, HTTP, last word, rate limit, record, sessions);
what the worker spent beyond the stages is Celery's and the rest.

`--baseline REF` checks REF out in a throwaway git worktree (its own environment, `uv sync`),
puts this harness in it, warms each tree with a 500-reader edition (a fresh checkout has no
numba cache: every pool process would compile the ranking kernels inside the measurement),
and measures REF and this tree alternately (`--repeat` times each, same machine, same
minutes), then prints each figure side by side with the ratio. Every
measurement runs in its own process in its tree; `--json` prints them all as JSON.

    uv run paperboy bench send                               # 10,000 readers
    uv run paperboy bench send --baseline main --rate 1000   # against main, rate raised
    uv run paperboy bench send --n 100000
"""

from __future__ import annotations

import argparse
import bisect
import gc
import itertools
import json
import os
import shutil
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
REDIS = os.environ.get("PAPERBOY_BENCH_REDIS", "redis://127.0.0.1:6379/6")
ROOT = Path(__file__).resolve().parents[1]
STANDIN = "tests/emails/providers/sendgrid_standin.py"


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


def claim_redis(url: str) -> None:
    """Flush the Redis database this run's broker uses, refusing one another client is on:
    two runs on one database take each other's tasks and flush each other's queues."""
    import redis

    client = redis.Redis.from_url(url)
    db, me = client.connection_pool.connection_kwargs.get("db", 0), client.client_id()
    others = [c for c in client.client_list() if int(c["db"]) == db and int(c["id"]) != me]
    if others:
        raise SystemExit(
            f"{len(others)} other Redis clients are on {url} (another bench send?): set "
            "PAPERBOY_BENCH_REDIS to a database nothing else uses"
        )
    client.flushdb()


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


def wait_done(start: float, timeout: float, pgid: int) -> tuple[int, list[dict]]:
    """The run plan_due started, once it is done (polled every 0.5 s: one primary-key read,
    nothing the database's CPU figure would grow with), and each worker process's CPU
    seconds so far at every poll."""
    from sqlmodel import func, select

    from models import RunState, SendRun, session_scope

    timeline = []
    while time.perf_counter() - start < timeout:
        with session_scope() as session:
            run = session.get(SendRun, session.exec(select(func.max(SendRun.id))).one() or 0)
        timeline.append({"t": time.perf_counter() - start, "cpu": process_cpu(pgid)})
        if run is not None and run.state == RunState.done:
            return run.id, timeline
        time.sleep(0.5)
    raise SystemExit(f"the edition was not planned and sent within {timeout:.0f}s")


def process_cpu(pgid: int) -> dict[int, float]:
    """CPU seconds so far of each process of a process group, by pid."""
    tick, out = os.sysconf("SC_CLK_TCK"), {}
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
            out[int(proc.name)] = (int(fields[11]) + int(fields[12])) / tick
    return out


def busy(timeline: list[dict], sent_at: list[float]) -> list[dict]:
    """The timeline as intervals: each worker process's share of a core in it (0-1), and
    the emails sent per second (`sent_at`: each send's time, seconds since the start)."""
    sent_at = sorted(sent_at)
    out = []
    for before, after in itertools.pairwise(timeline):
        span = after["t"] - before["t"]
        sent = bisect.bisect(sent_at, after["t"]) - bisect.bisect(sent_at, before["t"])
        out.append(
            {
                "t": round(after["t"], 1),
                "per_s": round(sent / span),
                "busy": [
                    round((after["cpu"].get(pid, 0) - before["cpu"].get(pid, 0)) / span, 2)
                    for pid in sorted(after["cpu"])
                ],
            }
        )
    return out


def unplan(subscriber_ids: list[int]) -> None:
    """These readers' digests deleted: planned again, they are planned afresh."""
    from sqlalchemy import delete
    from sqlmodel import col, select

    from models import Digest, DigestItem, session_scope

    with session_scope() as session:
        ids = select(Digest.id).where(col(Digest.subscriber_id).in_(subscriber_ids))
        session.exec(delete(DigestItem).where(col(DigestItem.digest_id).in_(ids)))
        session.exec(delete(Digest).where(col(Digest.subscriber_id).in_(subscriber_ids)))


def cpu_split(subscriber_ids: list[int], now: datetime) -> dict[str, float]:
    """CPU milliseconds per email by stage, one thread, in this process: these readers planned
    afresh for the edition of `now` (as a chunk of it), then sent through the worker's own
    `send_wave` (each stage timed where the path calls it, and taken out of the stage around
    it; "sessions and commits" is the rest)."""
    from concurrent.futures import ThreadPoolExecutor

    from config import get_settings
    from emails.providers import get_backend, sendgrid
    from models import session_scope
    from worker.delivery import ratelimit, runs
    from worker.delivery import send as delivery
    from worker.ranking import planning

    settings = get_settings()
    unplan(subscriber_ids)
    with session_scope() as session:
        run = runs.start(session, [])  # as `plan_due` does: a chunk's digests are written owned
    cpu = time.process_time()
    with session_scope() as session:
        ids = planning.plan_edition(
            session, settings, now, True, subscriber_ids=subscriber_ids, run_id=run.id
        ).planned
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
    if hasattr(backend, "send_all"):  # a wave from one thread: the HTTP stage is this call
        backend.send_all = timing("HTTP", backend.send_all)
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


def measure(args: argparse.Namespace) -> dict:
    """One plan + send of `args.n` readers in this tree, its figures as a dict."""
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
        if args.rate:
            env["SEND_RATE_PER_SECOND"] = str(args.rate)
        os.environ.update(env)
        from sqlmodel import func, select

        claim_redis(REDIS)
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
        load_before = os.getloadavg()
        before = {g: group_cpu(p) for g, p in groups.items()} | server_cpu(name)
        start, started = time.perf_counter(), datetime.now(UTC)
        tasks.plan_due.delay(ignore_send_hour=True)
        run_id, timeline = wait_done(start, 7200, worker.pid)
        after = {g: group_cpu(p) for g, p in groups.items()} | server_cpu(name)
        load_after = os.getloadavg()
        cpu = {g: after[g] - before[g] for g in after}
        peak = peak_rss_mb(worker.pid)
        with session_scope() as session:
            run = session.get(SendRun, run_id)
            counts = runs.counts(session, run)
            last = session.exec(select(func.max(Digest.sent_at)).where(Digest.run_id == run_id))
            first_to_last = (last.one() - run.created_at).total_seconds()
            sent_at = [
                (at - started).total_seconds()
                for at in session.exec(select(Digest.sent_at).where(Digest.run_id == run_id))
                if at is not None
            ]
            readers = list(
                session.exec(select(Subscriber.id).order_by(Subscriber.id).limit(args.profile))
            )
        with admin.connect() as conn:
            db_mb = conn.execute(text("SELECT pg_database_size(:n)"), {"n": name}).scalar_one()
        stop(worker)
        worker = None
        sent = counts.sent
        # warm: caches and the model, and the garbage collector as `worker.app._warm` sets it
        # in a worker; then a second chunk of the same edition
        from worker.app import GC_YOUNG

        gc.freeze()
        gc.set_threshold(GC_YOUNG, *gc.get_threshold()[1:])
        edition = datetime.now(UTC)
        cpu_split(readers[: len(readers) // 2], edition)
        stages = cpu_split(readers[len(readers) // 2 :], edition)
    finally:
        if worker is not None:
            stop(worker)
        standin.send_signal(2)
        try:
            tail = standin.communicate(timeout=30)[0].strip()
        except subprocess.TimeoutExpired:  # it would not stop: its summary is lost, not the run
            standin.kill()
            tail = standin.communicate()[0].strip()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        shutil.rmtree(home, ignore_errors=True)
    per_email = {g: v * 1000 / sent for g, v in cpu.items()}
    per_email["all but the stand-in"] = sum(v for g, v in per_email.items() if g != "stand-in")
    stages["Celery and the rest (worker)"] = per_email["worker"] - sum(stages.values())
    return {
        "readers": args.n,
        "sent": sent,
        "failed": counts.failed,
        "skipped": counts.skipped,
        "first_to_last_s": first_to_last,
        "emails_per_s": sent / first_to_last,
        "peak_rss_mb": peak,
        "db_mb": db_mb / 2**20,
        "load_average": [round(x, 2) for x in (*load_before, *load_after)],
        "cpu_ms_per_email": per_email,
        "stage_ms_per_email": stages,
        "timeline": busy(timeline, sent_at),
        "stand_in": json.loads(tail.splitlines()[-1]) if tail.endswith("}") else {},
    }


def checkout(ref: str) -> Path:
    """REF in a throwaway git worktree with its own environment, this harness and stand-in
    put in it; beside this checkout, where the shared data is found."""
    tree = Path(tempfile.mkdtemp(prefix="paperboy-baseline-", dir=ROOT.parent))
    subprocess.run(
        ["git", "worktree", "add", "--detach", str(tree), ref],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    subprocess.run(["uv", "sync", "--frozen", "--quiet"], cwd=tree, check=True)
    for harness in ("bench/bench_send.py", STANDIN):  # the same harness and stand-in for both
        (tree / harness).write_bytes((ROOT / harness).read_bytes())
    return tree


def run_in(tree: Path, argv: list[str]) -> dict:
    """One measurement in `tree`, in a process of its own (its code, its environment)."""
    python = sys.executable if tree == ROOT else str(tree / ".venv" / "bin" / "python")
    out = subprocess.run(
        [python, "-m", "bench.bench_send", "--measure", *argv],
        cwd=tree,
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def summary(results: list[dict]) -> dict[str, float]:
    """The figures compared, medians over the repeats."""
    rows = {
        "emails/s, first to last": [r["emails_per_s"] for r in results],
        "peak RSS of a worker process (MB)": [r["peak_rss_mb"] for r in results],
        "database size (MB)": [r["db_mb"] for r in results],
    }
    for key in results[0]["cpu_ms_per_email"]:
        rows[f"CPU ms/email: {key}"] = [r["cpu_ms_per_email"][key] for r in results]
    for key in results[0]["stage_ms_per_email"]:
        rows[f"  stage: {key}"] = [r["stage_ms_per_email"].get(key, 0.0) for r in results]
    return {k: median(v) for k, v in rows.items()}


def report(measured: dict[str, list[dict]], timeline: bool) -> None:
    names = list(measured)
    tables = {name: summary(results) for name, results in measured.items()}
    head = f"{'':<46}" + "".join(f"{n:>12}" for n in names)
    print(head + ("       ratio" if len(names) == 2 else ""))
    for key in tables[names[-1]]:
        values = [tables[n].get(key, float("nan")) for n in names]
        line = f"{key:<46}" + "".join(f"{v:12.2f}" for v in values)
        if len(names) == 2:
            line += f"{values[1] / values[0]:11.2f}x" if values[0] else f"{'-':>12}"
        print(line)
    for name, results in measured.items():
        for r in results:
            print(
                f"{name}: sent {r['sent']} (failed {r['failed']}, skipped {r['skipped']}) in "
                f"{r['first_to_last_s']:.1f} s; load average before "
                f"{' '.join(map(str, r['load_average'][:3]))}, after "
                f"{' '.join(map(str, r['load_average'][3:]))}; stand-in {r['stand_in']} "
                "(its duplicates: the stage split's second edition to --profile of the "
                "same readers)"
            )
            if timeline:
                print("  t (s)  emails/s  worker processes' share of a core")
                for row in r["timeline"]:
                    print(f"  {row['t']:5.1f}  {row['per_s']:8d}  {row['busy']}")


def main() -> None:
    parser = argparse.ArgumentParser(description="plan + send end to end, against a baseline")
    parser.add_argument("--n", type=int, default=10_000, help="readers planned and sent")
    parser.add_argument("--profile", type=int, default=1_000, help="digests for the CPU split")
    parser.add_argument("--delay", type=float, default=0.05, help="stand-in answer time, s")
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count(),
        help="worker processes (the Procfile's: one per core)",
    )
    parser.add_argument("--rate", type=float, default=0, help="SEND_RATE_PER_SECOND (0: default)")
    parser.add_argument("--baseline", metavar="REF", help="also measure this commit, alternately")
    parser.add_argument("--repeat", type=int, default=1, help="measurements of each tree")
    parser.add_argument("--json", action="store_true", help="print every measurement as JSON")
    parser.add_argument("--timeline", action="store_true", help="print when each process works")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args)))
        return
    argv = [
        f"--n={args.n}",
        f"--profile={args.profile}",
        f"--delay={args.delay}",
        f"--workers={args.workers}",
        f"--rate={args.rate}",
    ]
    trees = {"this tree": ROOT}
    if args.baseline:
        trees = {args.baseline: checkout(args.baseline)} | trees
    measured: dict[str, list[dict]] = {name: [] for name in trees}
    try:
        # A small edition first, unmeasured: numba's cache (in the tree) and the files warm.
        for tree in trees.values():
            run_in(tree, [*argv, "--n=500", "--profile=100"])
        for _ in range(args.repeat):
            for name, tree in trees.items():  # alternately: both see the same machine
                measured[name].append(run_in(tree, argv))
    finally:
        for tree in trees.values():
            if tree != ROOT:
                subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT)
    if args.json:
        print(json.dumps(measured, indent=1))
        return
    print(
        f"{args.n} readers x 1,000 papers, planned and sent end to end by the Procfile's worker "
        f"alone ({args.workers} processes, no beat), stand-in answering in "
        f"{args.delay * 1000:.0f} ms, rate limit {args.rate or 'default'}/s, {os.cpu_count()} "
        f"CPUs (shared), medians of {args.repeat}"
    )
    report(measured, args.timeline)


if __name__ == "__main__":
    main()
