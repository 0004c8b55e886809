"""Bundled sample papers: 600 real arXiv ML/CV papers, for the demo and offline use.

Derived from the project's arXiv ML sample (titles, abstracts, categories). The sample
carries no arXiv ids or authors, so ids are `sample-NNNN` and its cards link nowhere (a title
search would pass for a paper's page).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

from worker.ingest.source import Source

SAMPLE = Path(__file__).parent / "data" / "sample_papers.jsonl.gz"
# Loaded, not fetched (`load_sample`).
SOURCE = Source(name="sample", text_authority=True, label="arXiv", counts_as="arxiv")


def sample_papers() -> Iterator[dict]:
    with gzip.open(SAMPLE, "rt", encoding="utf-8") as f:
        for line in f:
            yield json.loads(line)
