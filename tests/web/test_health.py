"""GET /health: 200 when the database (and Redis, if configured) answer; 503 names what failed."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.conftest import reset_caches
from tests.web.conftest import closed_port


def test_health_ok_on_embedded_default(client: TestClient) -> None:
    resp = client.get("/health")
    assert resp.status_code == 200
    assert resp.json() == {
        "status": "ok",
        "database": "ok",
        "redis": "not configured (tasks run in-process)",
    }


def test_health_503_names_unreachable_redis(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{closed_port()}/0")
    reset_caches()
    resp = client.get("/health")
    assert resp.status_code == 503
    body = resp.json()
    assert (body["status"], body["database"]) == ("failing", "ok")
    assert body["redis"].startswith("failed (")


def test_health_503_names_unreachable_database(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "DATABASE_URL", f"postgresql+psycopg://postgres@127.0.0.1:{closed_port()}/none"
    )
    monkeypatch.setenv("SECRET_KEY", "test-secret")
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{closed_port()}/0")
    reset_caches()
    resp = client.get("/health")
    assert resp.status_code == 503
    assert resp.json()["database"].startswith("failed (")


def test_pages_send_security_headers(client: TestClient) -> None:
    resp = client.get("/")
    assert resp.status_code == 200
    assert resp.headers["Referrer-Policy"] == "no-referrer"  # tokens never leak via Referer
    assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
