"""Cold Spring Harbor's details API (bioRxiv, medRxiv) as documented, for `FakeProviders`.

`GET /details/{server}/{from}/{to}/{cursor}` answers the records of `server` posted in the
interval, 100 from `cursor` on, with `messages[0]` carrying `cursor`, `count` and `total` (the
real API sends the numbers as strings, so these do too); an interval with no posts answers
"no posts found" and an empty collection.
"""

from __future__ import annotations

import json
import re
from datetime import date

PAGE = 100
PATH_RE = re.compile(
    r"/details/(?P<server>[a-z]+)/(?P<start>\d{4}-\d\d-\d\d)/(?P<end>\d{4}-\d\d-\d\d)/(?P<cursor>\d+)$"
)


def preprint(doi: str, version: int = 1, *, server: str = "biorxiv", **fields) -> dict:
    """One record as the API lists it (every field a string)."""
    return {
        "doi": doi,
        "title": f"Title of {doi} v{version}",
        "authors": "Smith, J.; Doe, A. B.",
        "author_corresponding": "Jane Smith",
        "author_corresponding_institution": "Example University",
        "date": "2026-11-18",
        "version": str(version),
        "type": "new results",
        "license": "cc_by",
        "category": "neuroscience",
        "jatsxml": f"https://www.biorxiv.org/content/early/{doi}.source.xml",
        "abstract": f"Abstract of {doi} version {version}.",
        "published": "NA",
        "server": server,
        **fields,
    }


def _posted(record, default: date) -> date:
    """A record's posting date; a malformed record is listed anyway (the client must cope)."""
    try:
        return date.fromisoformat(record["date"])
    except (TypeError, KeyError, ValueError):
        return default


def details(records: dict[str, list], path: str) -> tuple[int, bytes, str] | None:
    """The answer to `path`, or None when it is not a details request."""
    m = PATH_RE.search(path)
    if m is None:
        return None
    start, end = date.fromisoformat(m["start"]), date.fromisoformat(m["end"])
    listed = [r for r in records.get(m["server"], []) if start <= _posted(r, start) <= end]
    cursor = int(m["cursor"])
    page = listed[cursor : cursor + PAGE]
    interval = f"{m['start']}:{m['end']}"
    message = (
        {"status": "ok", "interval": interval, "cursor": str(cursor), "count": str(len(page))}
        | {"count_new_papers": str(len(page)), "total": str(len(listed))}
        if listed
        else {"status": "no posts found"}
    )
    body = {"messages": [message], "collection": page}
    return 200, json.dumps(body).encode(), "application/json;charset=utf-8"
