"""`paperboy serve` runs the Procfile's web process: `$PORT` decides the port."""

from __future__ import annotations

from pathlib import Path

import pytest
import uvicorn
from typer.testing import CliRunner

from cli.main import app


def test_serve_honours_port(paperboy_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict] = []
    monkeypatch.setattr(uvicorn, "run", lambda target, **kw: calls.append({"app": target, **kw}))
    monkeypatch.setenv("PORT", "18123")
    assert CliRunner().invoke(app, ["serve"]).exit_code == 0
    assert CliRunner().invoke(app, ["serve", "--port", "18124"]).exit_code == 0
    assert [(c["app"], c["host"], c["port"]) for c in calls] == [
        ("web.app:app", "127.0.0.1", 18123),
        ("web.app:app", "127.0.0.1", 18124),
    ]
    assert all(c["proxy_headers"] for c in calls)
