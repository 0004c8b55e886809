"""SEND_RATE_PER_SECOND is a limit for all worker processes together, measured where it
matters: at the provider (the SendGrid stand-in)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.worker.processes import start_worker, stop, wait_for
from tests.worker.sending import each_sent_once, plan_run, run_done
from worker import tasks

pytestmark = pytest.mark.services
N, RATE, WAVE = 80, 5.0, 8  # a wave wants more tokens than the bucket holds (a second's)


def test_four_processes_send_at_the_global_rate(delivery_env, paperboy_home: Path) -> None:
    env, standin = delivery_env
    run_id, planned = plan_run(N)
    extra = {
        "SEND_RATE_PER_SECOND": str(RATE),
        "SEND_CHUNK_SIZE": str(2 * WAVE),
        "SEND_CONCURRENCY": str(WAVE),
    }
    log = paperboy_home / "worker.log"
    worker = start_worker({**env, **extra}, log, "--concurrency=4")
    try:
        tasks.dispatch(run_id, planned)
        wait_for(lambda: run_done(run_id), "the run to finish", 120, log)
    finally:
        stop(worker)
    each_sent_once(run_id, standin.delivered_to(), N)
    at = sorted(r.at for r in standin.accepted())
    # Waves leave whole: from the first wave's departure, the other N - WAVE took their tokens.
    measured = (len(at) - WAVE) / (at[-1] - at[WAVE - 1])
    assert measured == pytest.approx(RATE, rel=0.10)
