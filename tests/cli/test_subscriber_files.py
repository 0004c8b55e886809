"""Subscriber files that are safe and whole: `export --all` round-trips through an empty
database, CSV formulas are neutralized, unreadable files are FILE:LINE errors, and an import
interrupted anywhere sends every pending reader their confirm email when run again."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import delete
from sqlmodel import select
from typer.testing import CliRunner

from cli.main import app
from models import (
    Feedback,
    Paper,
    Subscriber,
    SubscriberStatus,
    Suppression,
    session_scope,
    upgrade,
)
from models import subscribers as subs
from models.subscriber_files import ALL_COLUMNS

runner = CliRunner()
FORMULAS = {
    "interests": '=HYPERLINK("http://evil.example","click")',
    "authors": ["+cmd|' /C calc'!A0", "Ada Lovelace"],
    "muted_words": ["@SUM(1+1)", "-2+3", "survey"],
}


@pytest.fixture(autouse=True)
def database(paperboy_home: Path) -> None:
    upgrade()


def _everyone() -> None:
    """Readers in every status, with every field set away from its default, votes and seeds."""
    with session_scope() as session:
        session.add_all(Paper(id=pid, title=f"Paper {pid}") for pid in ("2411.00001", "2411.00002"))
        session.add(Paper(id="10.1101/2024.01.01.000001", title="A bioRxiv paper"))
        session.flush()
        rich = subs.subscribe(
            session,
            "rich@example.org",
            confirmed=True,
            categories=["cs.LG", "stat.ML"],
            sources=["arxiv"],
            frequency="weekly",
            max_papers=7,
            trending_count=0,
            quiet_day="no_email",
            send_hour=18,
            send_weekday=4,
            timezone="Asia/Tokyo",
            paused_until=date(2027, 1, 15),
            **FORMULAS,
        )
        for pid, value in (("2411.00001", 1), ("10.1101/2024.01.01.000001", 1), ("2411.00002", -1)):
            session.add(Feedback(subscriber_id=rich.id, paper_id=pid, value=value))
        subs.subscribe(session, "pending@example.org", interests="graphs")
        gone = subs.subscribe(session, "gone@example.org", confirmed=True, interests="x")
        subs.unsubscribe(session, gone, "test")
        for address, status, reason in (
            ("bounced@example.org", SubscriberStatus.bounced, "bounce"),
            ("spam@example.org", SubscriberStatus.complained, "spam_report"),
        ):
            subs.subscribe(session, address, confirmed=True, interests="y")
            subs.mark_undeliverable(
                session=session, email=address, status=status, reason=reason, source="test"
            )


def _empty_database() -> None:
    with session_scope() as session:
        for table in (Feedback, Suppression, Subscriber, Paper):
            session.exec(delete(table))


def _export(path: Path) -> str:
    result = runner.invoke(app, ["subscribers", "export", "--all", "-o", str(path)])
    assert result.exit_code == 0, result.output
    assert "exported 5 subscribers" in result.output
    return path.read_text(encoding="utf-8")


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_export_all_restores_into_an_empty_database_and_exports_identically(
    paperboy_home: Path, tmp_path: Path, fmt: str
) -> None:
    _everyone()
    first = _export(tmp_path / f"first.{fmt}")
    _empty_database()
    result = runner.invoke(app, ["subscribers", "import", str(tmp_path / f"first.{fmt}")])
    assert result.exit_code == 0, result.output
    assert "added 5" in result.output
    assert _export(tmp_path / f"second.{fmt}") == first

    with session_scope() as session:
        rich = subs.find(session, "rich@example.org")
        assert (rich.interests, rich.muted_words, rich.quiet_day) == (
            FORMULAS["interests"],
            FORMULAS["muted_words"],
            "no_email",
        )
        assert (rich.send_hour, rich.send_weekday, rich.max_papers) == (18, 4, 7)
        statuses = {s.email: s.status for s in session.exec(select(Subscriber))}
        assert statuses["bounced@example.org"] == SubscriberStatus.bounced
        suppressed = {s.email: s.reason for s in session.exec(select(Suppression))}
        assert suppressed == {
            "gone@example.org": "unsubscribe",
            "bounced@example.org": "bounce",
            "spam@example.org": "spam_report",
        }
        assert session.get(Paper, "2411.00001").title == "2411.00001"  # a placeholder
    confirms = list((paperboy_home / "outbox").glob("notice-confirm-*.eml"))
    assert len(confirms) == 1  # the one pending reader, asked again


def test_csv_export_neutralizes_formulas_and_reads_them_back(
    paperboy_home: Path, tmp_path: Path
) -> None:
    _everyone()
    text = _export(tmp_path / "all.csv")
    row = next(r for r in csv.DictReader(io.StringIO(text)) if r["email"] == "rich@example.org")
    assert row["interests"] == "'" + FORMULAS["interests"]
    assert row["authors"] == "'+cmd|' /C calc'!A0; Ada Lovelace"
    assert row["muted_words"] == "'@SUM(1+1); -2+3; survey"
    for cell in (c for r in csv.reader(io.StringIO(text)) for c in r):
        assert not cell.startswith(("=", "+", "-", "@")), cell
    assert set(next(csv.reader(io.StringIO(text)))) == set(ALL_COLUMNS)
    jsonl = runner.invoke(app, ["subscribers", "export", "--all"]).stdout
    first = json.loads(jsonl.splitlines()[0])
    assert first["interests"] == FORMULAS["interests"]  # JSON is no spreadsheet: unchanged
    assert first["likes"] == ["10.1101/2024.01.01.000001", "2411.00001"]


def test_a_latin1_file_is_a_file_line_error_and_imports_nothing(
    paperboy_home: Path, tmp_path: Path
) -> None:
    path = tmp_path / "list.csv"
    path.write_bytes(
        "email,interests\na@example.org,graphs\nb@example.org,café\n".encode("latin-1")
    )
    result = runner.invoke(app, ["subscribers", "import", str(path)])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "list.csv:3: not UTF-8 text" in result.output
    assert "Traceback" not in result.output
    with session_scope() as session:
        assert session.exec(select(Subscriber)).all() == []


def test_a_200_kb_field_is_a_file_line_error(paperboy_home: Path, tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_text(f"email,interests\na@example.org,graphs\nb@example.org,{'x' * 200_000}\n")
    result = runner.invoke(app, ["subscribers", "import", str(path)])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "list.csv:3: a field is longer than 131,072 characters" in result.output
    with session_scope() as session:
        assert session.exec(select(Subscriber)).all() == []
    jsonl = tmp_path / "list.jsonl"
    jsonl.write_text(json.dumps({"email": "c@example.org", "interests": "x" * 200_000}) + "\n")
    result = runner.invoke(app, ["subscribers", "import", str(jsonl)])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "list.jsonl:1: " in result.output and "Traceback" not in result.output


def _confirmed_ids(home: Path) -> set[int]:
    return {int(p.name.split("-")[2]) for p in (home / "outbox").glob("notice-confirm-*.eml")}


@pytest.mark.parametrize("crash_at", ["import_batch", "send_notice", "mark_confirm_sent"])
def test_an_import_interrupted_anywhere_sends_every_confirm_when_run_again(
    paperboy_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, crash_at: str
) -> None:
    import models.subscriber_files as files
    from worker import tasks

    path = tmp_path / "list.csv"
    path.write_text("email\n" + "".join(f"r{i}@example.org\n" for i in range(500)))
    calls = {"n": 0}

    def crashing(real):
        def call(*args, **kwargs):
            calls["n"] += 1
            if calls["n"] == (3 if crash_at != "send_notice" else 250):
                raise RuntimeError("the machine went down")
            return real(*args, **kwargs)

        return call

    if crash_at == "send_notice":
        monkeypatch.setattr(tasks.send_notice, "delay", crashing(tasks.send_notice.delay))
    else:
        monkeypatch.setattr(files, crash_at, crashing(getattr(files, crash_at)))
    crashed = runner.invoke(app, ["subscribers", "import", str(path), "--batch", "100"])
    assert isinstance(crashed.exception, RuntimeError)
    assert len(_confirmed_ids(paperboy_home)) < 500
    monkeypatch.undo()

    again = runner.invoke(app, ["subscribers", "import", str(path), "--batch", "100"])
    assert again.exit_code == 0, again.output
    with session_scope() as session:
        pending = {s.id for s in session.exec(select(Subscriber))}
        assert len(pending) == 500
    assert _confirmed_ids(paperboy_home) == pending
    third = runner.invoke(app, ["subscribers", "import", str(path), "--batch", "100"])
    assert "500 already subscribed" in third.output
    assert len(list((paperboy_home / "outbox").glob("notice-confirm-*.eml"))) <= 600
