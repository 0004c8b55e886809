"""`paperboy rank`: offline ranking of JSONL papers for JSONL profiles, no database."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from cli.ui import console, settings

RANK_BATCH = 10_000  # profiles ranked, then written, at a time: memory stays one batch's


def read_jsonl(path: Path, what: str) -> list[dict]:
    """Every object in a JSONL file; a bad line is a usage error naming file and line."""
    rows = []
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise typer.BadParameter(
                    f"{path}:{n}: not valid JSON ({e.msg})", param_hint=what
                ) from e
    return rows


def rank(
    papers: Annotated[
        Path, typer.Option(exists=True, dir_okay=False, metavar="FILE", help="Papers JSONL.")
    ],
    profiles: Annotated[
        Path, typer.Option(exists=True, dir_okay=False, metavar="FILE", help="Profiles JSONL.")
    ],
    top: Annotated[int, typer.Option(min=1, metavar="K", help="Papers per profile.")] = 10,
) -> None:
    """Offline ranking, no database: one JSON line per profile, best papers first."""
    from models.db import pages
    from worker import ranking
    from worker.ranking.planning import fit_params, rank_params

    config = settings()
    now = time.time()
    try:
        docs = [ranking.doc_from_json(d, now) for d in read_jsonl(papers, "--papers")]
        profs = [ranking.profile_from_json(d) for d in read_jsonl(profiles, "--profiles")]
    except ValueError as e:
        console.print(f"[red]{e}[/]")
        raise typer.Exit(2) from e
    model = ranking.Model.fit(docs, fit_params(config))
    batches = pages(profs, RANK_BATCH)
    done = 0
    for part in ranking.rank_batches(docs, batches, rank_params(config, top), model=model):
        for profile_id, picks in part.items():  # written as each batch is ranked
            line = {
                "subscriber": profile_id,
                "papers": [
                    {
                        "id": p.paper_id,
                        "score": p.score,
                        "reasons": [r.to_json() for r in p.reasons],
                    }
                    for p in picks
                ],
            }
            sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
        done += len(part)
        if len(profs) > RANK_BATCH:
            console.print(f"ranked {done:,} of {len(profs):,} profiles", highlight=False)
