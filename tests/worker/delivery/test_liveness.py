"""Is beat running? `runs status` and /health warn after two minutes without a reaper beat,
and a run nothing will move reads "stalled", not "running"."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from typer.testing import CliRunner

from cli.main import app
from config import get_settings
from models import SendRun, session_scope, utcnow
from tests.worker.sending import plan_run
from web.app import app as web_app
from worker.delivery import liveness

pytestmark = pytest.mark.services
runner = CliRunner()


def _status() -> str:
    result = runner.invoke(app, ["runs", "status"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


def test_no_reaper_beat_warns_and_a_run_nothing_moves_is_stalled(production: str) -> None:
    run_id, _ = plan_run(2)
    with session_scope() as session:  # handed out an hour ago; no worker ever recorded anything
        session.exec(
            update(SendRun)
            .where(SendRun.id == run_id)
            .values(created_at=utcnow() - timedelta(hours=1))
        )
    output = _status()
    assert f"Run {run_id}: stalled" in output
    assert "no reaper beat seen yet: is beat running?" in output
    with TestClient(web_app) as client:
        health = client.get("/health")
    assert health.status_code == 200  # workers still send: a warning, not a failure
    assert health.json()["beat"] == "warning: no reaper beat seen yet: is beat running?"

    liveness.beat(get_settings(), utcnow() - timedelta(minutes=3))  # beat died 3 minutes ago
    assert "is beat running?" in _status()

    liveness.beat(get_settings(), utcnow())  # beat is back: its reaper will move the run
    output = _status()
    assert f"Run {run_id}: running" in output and "beat" not in output
    with TestClient(web_app) as client:
        assert client.get("/health").json()["beat"] == "ok"
