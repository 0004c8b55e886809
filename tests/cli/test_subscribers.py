"""`paperboy subscribe` and `paperboy subscribers import/export` through the real CLI."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

from sqlalchemy import func
from sqlmodel import select
from typer.testing import CliRunner

from cli.main import app
from models import Subscriber, SubscriberStatus, session_scope, subscribers
from models.subscriber_files import COLUMNS

runner = CliRunner()
ROWS = 10_000
# (line in the file, row, what the report says); line 1 is the header
BAD = {
    101: ({"email": "not-an-address"}, "not a valid email address"),
    202: ({"email": "bad-cat@example.org", "categories": "bogus.XX"}, "not an arXiv category"),
    303: ({"email": "nul@example.org", "interests": "graphs\x00"}, "control character"),
    404: ({"email": "tz@example.org", "timezone": "Mars/Base"}, "unknown time zone"),
    505: ({"email": "often@example.org", "frequency": "hourly"}, "How often: choose one of"),
}


def _row(i: int) -> dict[str, str]:
    return {
        "email": f"Reader{i}@Example.org",
        "interests": f"graph neural networks {i}",
        "categories": "cs.LG; stat.ML" if i % 2 else "",
        "authors": "Ada Lovelace" if i % 3 == 0 else "",
        "frequency": "weekly" if i % 5 == 0 else "daily",
        "timezone": "Europe/Berlin" if i % 7 == 0 else "UTC",
    }


def _write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def _count(status: SubscriberStatus | None = None) -> int:
    query = select(func.count()).select_from(Subscriber)
    if status is not None:
        query = query.where(Subscriber.status == status)
    with session_scope() as session:
        return session.exec(query).one()


def test_import_10000_rows_reports_every_bad_line_and_loses_none(
    paperboy_home: Path, tmp_path: Path
) -> None:
    rows = [_row(i) for i in range(ROWS)]
    for line, (bad, _) in BAD.items():
        rows[line - 2] = {k: "" for k in COLUMNS} | bad
    rows[600] = dict(rows[10])  # a repeat within the file
    path = tmp_path / "list.csv"
    _write_csv(path, rows)
    assert runner.invoke(app, ["subscribe", "reader20@example.org"]).exit_code == 0

    started = time.perf_counter()
    result = runner.invoke(app, ["subscribers", "import", str(path), "--confirmed"])
    print(f"\nimported {ROWS} rows in {time.perf_counter() - started:.1f} s")
    assert result.exit_code == 1, result.output  # some rows were invalid
    for line, (_, says) in BAD.items():
        assert f"list.csv:{line}: " in result.output and says in result.output
    assert "Input should" not in result.output
    added = ROWS - len(BAD) - 2  # minus the bad rows, the repeat, the existing reader
    assert f"added {added} (active)" in result.output
    assert "2 already subscribed" in result.output and f"{len(BAD)} invalid" in result.output
    assert _count(SubscriberStatus.active) == added + 1
    assert not (paperboy_home / "outbox").exists()  # opted in elsewhere: no confirm emails
    with session_scope() as session:
        sub = subscribers.find(session, "reader7@example.org")
        assert (sub.categories, sub.timezone, sub.status_source) == (
            ["cs.LG", "stat.ML"],
            "Europe/Berlin",
            "import",
        )


def test_import_jsonl_sends_the_double_opt_in_and_export_round_trips(
    paperboy_home: Path, tmp_path: Path
) -> None:
    path = tmp_path / "list.jsonl"
    records = [
        {"email": "a@example.org", "interests": "diffusion", "categories": ["cs.CV"]},
        {"email": "b@example.org", "authors": ["Alan Turing"], "frequency": "weekly"},
        {"email": "c@example.org", "timezone": "Asia/Tokyo"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n\n[1, 2]\n")
    result = runner.invoke(app, ["subscribers", "import", str(path)])
    assert result.exit_code == 1 and "list.jsonl:5: not a JSON object" in result.output
    assert "added 3 (pending, confirmation email sent)" in result.output
    assert len(list((paperboy_home / "outbox").glob("notice-confirm-*.eml"))) == 3
    assert _count(SubscriberStatus.pending) == 3

    with session_scope() as session:  # they confirm
        for sub in session.exec(select(Subscriber)):
            subscribers.confirm(session, sub, "test")
    for fmt in ("csv", "jsonl"):
        out = tmp_path / f"export.{fmt}"
        exported = runner.invoke(app, ["subscribers", "export", "-o", str(out)])
        assert exported.exit_code == 0 and "exported 3 subscribers" in exported.output
        again = runner.invoke(app, ["subscribers", "import", str(out), "--confirmed"])
        assert again.exit_code == 0 and "3 already subscribed" in again.output
    lines = runner.invoke(app, ["subscribers", "export"]).stdout.splitlines()
    first = json.loads(lines[0])
    assert first == {
        "email": "a@example.org",
        "interests": "diffusion",
        "categories": ["cs.CV"],
        "authors": [],
        "frequency": "daily",
        "timezone": "UTC",
    }


def test_subscribe_refuses_a_category_outside_the_arxiv_taxonomy(paperboy_home: Path) -> None:
    bad = runner.invoke(app, ["subscribe", "a@example.org", "--category", "bogus.XX"])
    assert bad.exit_code == 2
    assert "'bogus.XX' is not an arXiv category" in bad.output
    good = runner.invoke(app, ["subscribe", "a@example.org", "--category", "CS.lg"])
    assert good.exit_code == 0, good.output
    with session_scope() as session:
        assert subscribers.find(session, "a@example.org").categories == ["cs.LG"]


def test_subscribe_chooses_sources_by_their_registry_names(paperboy_home: Path) -> None:
    """A biologist subscribes from the CLI to bioRxiv and its "neuroscience" collection; a
    source nobody registered is refused with the names there are, and nothing is stored."""
    result = runner.invoke(
        app,
        ["subscribe", "bio@example.org", "--source", "biorxiv", "--category", "Neuroscience"],
    )
    assert result.exit_code == 0, result.output
    bogus = runner.invoke(app, ["subscribe", "x@example.org", "--source", "bogus"])
    assert bogus.exit_code == 2
    assert "unknown source 'bogus'" in bogus.output and "biorxiv" in bogus.output
    with session_scope() as session:
        sub = subscribers.find(session, "bio@example.org")
        assert (sub.sources, sub.categories) == (["biorxiv"], ["neuroscience"])
        assert subscribers.find(session, "x@example.org") is None
