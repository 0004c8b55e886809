"""arXiv Atom parsing and paging: the recorded pages, and every way a page can be bad."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest

from tests.worker.ingest.conftest import SINCE
from tests.worker.ingest.fake_providers import FIXTURES
from worker.ingest.http import PoliteClient, Politeness, SourceError
from worker.ingest.sources import arxiv

PAGE0 = (FIXTURES / "arxiv" / "query_start_0000.xml").read_bytes()
ATOM = "http://www.w3.org/2005/Atom"


def _feed(*entries: str, total: int | None = None) -> bytes:
    n = len(entries) if total is None else total
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<feed xmlns="{ATOM}" xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" '
        'xmlns:arxiv="http://arxiv.org/schemas/atom">'
        f"<opensearch:totalResults>{n}</opensearch:totalResults>" + "".join(entries) + "</feed>"
    ).encode()


def _entry(id_="http://arxiv.org/abs/2611.00001v2", title="A title", published=True) -> str:
    pub = "<published>2026-11-20T10:00:00Z</published>" if published else ""
    return (
        f"<entry><id>{id_}</id>{pub}<title>{title}</title><summary>Text.</summary>"
        "<author><name>Ada Lovelace</name></author></entry>"
    )


def test_parse_feed_reads_every_field_of_a_recorded_page() -> None:
    page, total = arxiv.parse_feed(PAGE0, "start=0")
    assert total == 64 and page.received == 25
    first = page.records[0]
    assert first["id"] == "2611.10001" and first["version"] == 1
    assert first["title"].startswith("Optimal and Efficient Algorithms for General Mixable")
    assert first["categories"] == ["cs.LG", "stat.ML"]
    assert first["authors"] == ["Fei-Fei Nguyen", "Sara Kim", "Grace Lovelace", "Ada Turing"]
    assert first["published"] == datetime(2026, 11, 20, 17, 23, tzinfo=UTC)
    assert first["abs_url"] == "https://arxiv.org/abs/2611.10001v1"
    assert first["pdf_url"] == "https://arxiv.org/pdf/2611.10001v1"
    assert first["comment"] == "Accepted at NeurIPS 2026"
    by_id = {r["id"]: r for r in page.records}
    old = by_id["cs/0112017"]  # old-style id kept whole, version split off
    assert old["journal_ref"].startswith("J. Artif. Intell. Res.")
    assert "$\\mathcal{O}(n \\log n)$" in page.records[3]["title"]  # LaTeX untouched here


def test_parse_feed_puts_the_primary_category_first() -> None:
    entry = (
        "<entry><id>http://arxiv.org/abs/2611.00002v1</id><published>2026-11-20T10:00:00Z"
        "</published><title>T</title>"
        '<arxiv:primary_category term="cs.CL"/><category term="cs.LG"/><category term="cs.CL"/>'
        "</entry>"
    )
    page, _ = arxiv.parse_feed(_feed(entry), "t")
    assert page.records[0]["categories"] == ["cs.CL", "cs.LG"]


def test_split_id_keeps_old_style_ids_intact() -> None:
    assert arxiv.split_id("http://arxiv.org/abs/hep-th/9901001v3") == ("hep-th/9901001", 3)
    assert arxiv.split_id("http://arxiv.org/abs/math.GT/0309136v1") == ("math.GT/0309136", 1)
    assert arxiv.split_id("2611.01234") == ("2611.01234", None)
    assert arxiv.split_id("http://arxiv.org/api/errors#bad") is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<feed xmlns='http://www.w3.org/2005/Atom'><entry><id>", "malformed or truncated"),
        (PAGE0[: len(PAGE0) // 2], "malformed or truncated"),
        (b"Rate exceeded.", "malformed or truncated"),
        (b"<html><body>Service Unavailable</body></html>", "not an Atom feed"),
        (
            b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
            b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
            b"<feed xmlns='http://www.w3.org/2005/Atom'><title>&lol2;</title></feed>",
            "refused unsafe XML",
        ),
        (
            b'<?xml version="1.0"?><!DOCTYPE feed [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
            b"<feed xmlns='http://www.w3.org/2005/Atom'><title>&xxe;</title></feed>",
            "refused unsafe XML",
        ),
    ],
    ids=["malformed", "truncated", "plain-text", "html", "billion-laughs", "external-entity"],
)
def test_parse_feed_rejects_a_bad_page_with_a_clear_error(body: bytes, message: str) -> None:
    with pytest.raises(SourceError) as err:
        arxiv.parse_feed(body, "start=0")
    assert message in str(err.value) and "start=0" in str(err.value)


def test_parse_feed_raises_the_api_error_entry() -> None:
    error = (
        "<entry><id>http://arxiv.org/api/errors#incorrect_id_format_for_1234.12345</id>"
        "<title>Error</title><summary>incorrect id format for 1234.12345</summary></entry>"
    )
    with pytest.raises(SourceError, match="incorrect id format"):
        arxiv.parse_feed(_feed(error), "start=0")


def test_parse_feed_skips_bad_entries_and_counts_why() -> None:
    page, _ = arxiv.parse_feed(
        _feed(
            _entry(),
            _entry(id_="not-an-id"),
            _entry(id_="http://arxiv.org/abs/2611.00003v1", published=False),
            "<entry><id>http://arxiv.org/abs/2611.00004</id>"
            "<published>yesterday</published><title>x</title></entry>",
        ),
        "start=0",
    )
    assert [r["id"] for r in page.records] == ["2611.00001"]
    assert page.skipped == {
        "missing or unrecognized arXiv id": 1,
        "missing published date": 1,
        "unreadable date": 1,
    }


def _client(clock) -> PoliteClient:
    return PoliteClient(
        "arxiv", Politeness(min_interval=3.0), timeout=2, clock=clock, sleep=clock.sleep
    )


def _recorded_published() -> list[datetime]:
    out = []
    for path in sorted((FIXTURES / "arxiv").glob("*.xml")):
        for e in ET.parse(path).getroot().findall(f"{{{ATOM}}}entry"):
            out.append(datetime.fromisoformat(e.findtext(f"{{{ATOM}}}published")))
    return out


def test_fetch_pages_pages_newest_first_and_stops_at_the_window(providers, clock) -> None:
    client = _client(clock)
    pages = list(
        arxiv.fetch_pages(
            client,
            api_url=f"{providers.url}/api/query",
            categories=["cs.LG", "cs.CV"],
            since=SINCE,
            page_size=25,
            max_results=500,
        )
    )
    queries = providers.hits("/api/query")
    assert [q["start"] for q in queries] == ["0", "25"]  # page 3 is past the window: not asked
    assert queries[0]["sortBy"] == "submittedDate" and queries[0]["sortOrder"] == "descending"
    assert queries[0]["search_query"] == "cat:cs.LG OR cat:cs.CV"
    records = [r for p in pages for r in p.records]
    assert all(r["published"] >= SINCE for r in records)
    in_window = sum(1 for t in _recorded_published()[:50] if t >= SINCE)
    duplicates = sum(p.skipped["duplicate in listing"] for p in pages)
    assert duplicates == 1  # the same paper on pages 1 and 2 (the listing shifted)
    assert len(records) + duplicates == in_window


def test_fetch_pages_reads_every_page_when_the_window_is_wide(providers, clock) -> None:
    client = _client(clock)
    since = datetime(2026, 1, 1, tzinfo=UTC)
    pages = list(
        arxiv.fetch_pages(
            client,
            api_url=f"{providers.url}/api/query",
            categories=["cs.LG"],
            since=since,
            page_size=25,
            max_results=500,
        )
    )
    assert [q["start"] for q in providers.hits("/api/query")] == ["0", "25", "50"]
    assert sum(p.received for p in pages) == 64
    assert len({r["id"] for p in pages for r in p.records}) == 63


def test_fetch_pages_skips_an_entry_listed_twice_on_one_page(providers, clock) -> None:
    providers.respond("start=0", body=_feed(_entry(), _entry(title="Again"), total=2))
    client = _client(clock)
    (page,) = arxiv.fetch_pages(
        client,
        api_url=f"{providers.url}/api/query",
        categories=["cs.LG"],
        since=SINCE,
        page_size=25,
        max_results=500,
    )
    assert [r["title"] for r in page.records] == ["A title"]
    assert page.skipped == {"duplicate in listing": 1}


def test_fetch_pages_asks_again_when_arxiv_answers_an_empty_page(providers, clock) -> None:
    providers.respond("start=25", body=_feed(total=64), times=1)
    since = datetime(2026, 1, 1, tzinfo=UTC)
    pages = list(
        arxiv.fetch_pages(
            _client(clock),
            api_url=f"{providers.url}/api/query",
            categories=["cs.LG"],
            since=since,
            page_size=25,
            max_results=500,
        )
    )
    assert [q["start"] for q in providers.hits("/api/query")] == ["0", "25", "25", "50"]
    assert sum(p.received for p in pages) == 64


def test_fetch_pages_fails_when_arxiv_keeps_answering_empty_pages(providers, clock) -> None:
    providers.respond("start=25", body=_feed(total=64))
    since = datetime(2026, 1, 1, tzinfo=UTC)
    with pytest.raises(SourceError, match="3 empty answers although totalResults is 64"):
        list(
            arxiv.fetch_pages(
                _client(clock),
                api_url=f"{providers.url}/api/query",
                categories=["cs.LG"],
                since=since,
                page_size=25,
                max_results=500,
            )
        )
