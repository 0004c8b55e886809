"""`paperboy bench [NAME]`: run the benchmarks in bench/, each printing ratios vs the naive way."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from cli.ui import console

ROOT = Path(__file__).resolve().parents[1]


def bench(
    ctx: typer.Context,
    only: Annotated[
        str | None, typer.Argument(metavar="NAME", help="Run one benchmark, e.g. 'render'.")
    ] = None,
) -> None:
    """Run the benchmarks in bench/ (each prints a table with ratios vs the naive way); options
    after NAME go to that benchmark (`paperboy bench send --n 100000`)."""
    available = sorted(p.stem.removeprefix("bench_") for p in (ROOT / "bench").glob("bench_*.py"))
    names = [n for n in available if only in (None, n)]
    if not names:
        console.print("[red]no such benchmark[/]; available: " + ", ".join(available))
        raise typer.Exit(2)
    for name in names:
        console.rule(f"bench_{name}")
        command = [sys.executable, "-m", f"bench.bench_{name}", *ctx.args]
        subprocess.run(command, cwd=ROOT, check=True)
