"""Bundled sample papers: 600 real arXiv ML/CV papers, for the demo and offline use.

Derived from the project's arXiv ML sample (titles, abstracts, categories). The sample
carries no arXiv ids or authors, so ids are `sample-NNNN` and links search arXiv by title.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote_plus

from worker.ingest.source import Source

SAMPLE = Path(__file__).parent / "data" / "sample_papers.jsonl.gz"
# Loaded, not fetched (`load_sample`); its records bring their own title-search links.
SOURCE = Source(name="sample", text_authority=True, label="arXiv", counts_as="arxiv")


def sample_papers() -> Iterator[dict]:
    with gzip.open(SAMPLE, "rt", encoding="utf-8") as f:
        for line in f:
            paper = json.loads(line)
            paper["abs_url"] = "https://arxiv.org/search/?searchtype=title&query=" + quote_plus(
                paper["title"]
            )
            yield paper
