"""`paperboy admin` (operators, password on stdin only) and the CLI at 80 columns: tables
that fit, readable placeholders, `plan` in words, one answer for a finished run."""

from __future__ import annotations

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from cli.digests import plan_summary
from cli.main import app
from models import Operator, session_scope
from tests.worker.sending import outcomes, plan_run

runner = CliRunner()
NARROW = {"COLUMNS": "80"}


def test_operators_are_added_from_stdin_listed_and_removed() -> None:
    added = runner.invoke(
        app, ["admin", "add", "Ops@Example.org", "--password-stdin"], input="long enough pass\n"
    )
    assert added.exit_code == 0, added.output
    with session_scope() as session:
        row = session.exec(select(Operator)).one()
    assert row.email == "ops@example.org" and "long enough pass" not in row.password_hash
    again = runner.invoke(
        app, ["admin", "add", "ops@example.org", "--password-stdin"], input="x" * 20
    )
    assert again.exit_code == 1 and "already an operator" in again.output
    short = runner.invoke(app, ["admin", "add", "b@example.org", "--password-stdin"], input="short")
    assert short.exit_code == 1 and "at least 12" in short.output
    assert runner.invoke(app, ["admin", "add", "c@example.org"]).exit_code == 2  # no stdin flag
    listed = runner.invoke(app, ["admin", "list"])
    assert "ops@example.org" in listed.output and "never signed in" in listed.output
    assert runner.invoke(app, ["admin", "remove", "ops@example.org"]).exit_code == 0
    assert runner.invoke(app, ["admin", "remove", "ops@example.org"]).exit_code == 1


def test_runs_list_and_status_show_edition_start_and_duration() -> None:
    run_id, planned = plan_run(2)
    outcomes(run_id, planned)
    listed = runner.invoke(app, ["runs", "list"], env=NARROW)
    assert listed.exit_code == 0
    header, row = listed.stdout.splitlines()[:2]
    assert header.split() == ["run", "edition", "started", "(UTC)", "took", "sent", "planned",
                              "rate/s", "state"]  # fmt: skip
    assert row.split()[0] == str(run_id) and row.split()[-1] == "done"
    assert all(len(line) <= 80 for line in listed.stdout.splitlines())
    status = runner.invoke(app, ["runs", "status"], env=NARROW)
    assert f"Run {run_id}: done · edition " in status.stdout and "took" in status.stdout


@pytest.mark.parametrize("action", ["pause", "resume", "cancel"])
def test_a_finished_run_answers_pause_resume_and_cancel_alike(action: str) -> None:
    run_id, planned = plan_run(1)
    outcomes(run_id, planned)
    answer = runner.invoke(app, ["runs", action, str(run_id)])
    assert answer.exit_code == 1
    assert f"run {run_id} is done: nothing to pause, resume or cancel" in answer.output


def test_plan_says_what_it_planned_sent_and_skipped() -> None:
    class Counts:
        sent, failed, skipped = 2, 0, 1

    result = {"planned": 3, "empty": 1, "already": 0, "run": 7}
    assert plan_summary(result, Counts()) == (
        "planned 3 digests: 2 sent, 0 failed, 1 skipped (run 7); "
        "skipped 1 with nothing relevant in this edition (no email)"
    )
    assert plan_summary(result).startswith("planned 3 digests: run 7 is with the workers")
    assert plan_summary({"planned": 0, "empty": 0, "already": 4, "run": None}) == (
        "planned nothing new; skipped 4 already planned for this edition"
    )
    fanned_out = {"planned": None, "empty": None, "already": 2, "run": 9, "planning": 5000}
    assert plan_summary(fanned_out) == (
        "5000 readers due: run 9 is with the workers, planning and sending "
        "(`paperboy runs status 9` follows it); skipped 2 already planned for this edition"
    )


@pytest.mark.parametrize(
    "command", [["subscribe", "--help"], ["rank", "--help"], ["runs", "status", "--help"],
                ["subscribers", "import", "--help"], ["plan", "--help"]]
)  # fmt: skip
def test_help_shows_placeholders_a_person_reads(command: list[str]) -> None:
    text = runner.invoke(app, command, env=NARROW).stdout
    assert "<" not in text and "list[" not in text, text
    assert all(len(line) <= 80 for line in text.splitlines())


def test_the_demo_table_fits_80_columns_with_whole_file_names() -> None:
    result = runner.invoke(app, ["demo"], env=NARROW)
    assert result.exit_code == 0, result.output
    table = [line for line in result.stdout.splitlines() if line.startswith(("│", "┃"))]
    assert len(table) == 4 and all(len(line) <= 80 for line in table)
    assert all(line.rstrip("│ ").endswith(".eml") for line in table[1:])  # never split
    assert all("…" in line for line in table[1:])  # long titles cut, not wrapped
