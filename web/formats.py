"""A reader's papers in the formats other tools read: BibTeX for reference managers, Atom for
feed readers. Pure: papers in, text out; the routes (`web.archive`, `web.feed`) fetch them."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from xml.etree import ElementTree as ET

from emails.latex import readable
from emails.render import reference
from models import Paper

ATOM = "http://www.w3.org/2005/Atom"
SUMMARY_LIMIT = 4000  # characters of an abstract in a feed entry


@dataclass(frozen=True)
class FeedEntry:
    paper: Paper
    picked_at: datetime  # when the digest that held it was sent
    archive_url: str  # that digest in the browser


def bibtex(papers: Sequence[Paper]) -> str:
    """One entry per paper: @misc with eprint/archivePrefix for arXiv, doi for a DOI; keys
    like `vaswani2017attention`, unique within the file."""
    used: set[str] = set()
    return "\n".join(_entry(paper, used) for paper in papers)


def _entry(paper: Paper, used: set[str]) -> str:
    year = (paper.published or paper.first_seen).year
    fields = [
        ("title", "{" + _bib(paper.title) + "}"),
        ("author", " and ".join(_bib(a) for a in paper.authors)),
        ("year", str(year)),
    ]
    ref, url, _ = reference(paper.id)
    if ref.startswith("arXiv:"):
        fields += [("eprint", paper.id), ("archivePrefix", "arXiv")]
        if paper.categories:
            fields.append(("primaryClass", paper.categories[0]))
    elif ref.startswith("doi:"):
        fields.append(("doi", paper.id))
    if url or paper.abs_url:
        fields.append(("url", url or paper.abs_url or ""))
    body = "".join(f"  {name} = {{{value}}},\n" for name, value in fields if value)
    return f"@misc{{{_key(paper, year, used)},\n{body}}}\n"


def _bib(text: str) -> str:
    """Braces would unbalance the entry; &, % and # are TeX's specials."""
    text = " ".join(str(text).replace("{", "").replace("}", "").split())
    return re.sub(r"(?<!\\)([&%#])", r"\\\1", text)


def _key(paper: Paper, year: int, used: set[str]) -> str:
    last = paper.authors[0].split()[-1] if paper.authors and paper.authors[0].split() else "anon"
    word = next((w for w in re.findall(r"\w+", paper.title) if len(w) > 3), "paper")
    base = _ascii(f"{last}{year}{word}") or "paper"
    key, n = base, 1
    while key in used:
        n += 1
        key = f"{base}{chr(ord('a') + n - 2)}" if n <= 27 else f"{base}{n}"
    used.add(key)
    return key


def _ascii(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", plain.lower())


def atom(*, feed_url: str, title: str, entries: Sequence[FeedEntry], now: datetime) -> bytes:
    """An Atom 1.0 feed (RFC 4287) of a reader's picks, newest first."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    _text(feed, "id", feed_url)
    _text(feed, "title", title)
    updated = max((e.picked_at for e in entries), default=now)
    _text(feed, "updated", _when(updated))
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="self", href=feed_url)
    _text(ET.SubElement(feed, f"{{{ATOM}}}author"), "name", "Paperboy")
    for item in entries:
        paper = item.paper
        ref, url, pdf = reference(paper.id, paper.pdf_url)
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        _text(entry, "id", f"{feed_url}#{paper.id}")
        _text(entry, "title", readable(paper.title))
        _text(entry, "updated", _when(item.picked_at))
        ET.SubElement(entry, f"{{{ATOM}}}link", rel="alternate", href=url or item.archive_url)
        if pdf:
            ET.SubElement(entry, f"{{{ATOM}}}link", rel="related", href=pdf, type="application/pdf")
        ET.SubElement(entry, f"{{{ATOM}}}link", rel="via", href=item.archive_url)
        for name in paper.authors[:20]:
            _text(ET.SubElement(entry, f"{{{ATOM}}}author"), "name", readable(name))
        summary = " ".join(readable(paper.abstract).split())[:SUMMARY_LIMIT]
        _text(entry, "summary", f"{ref}: {summary}" if ref else summary)
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def _text(parent: ET.Element, tag: str, value: str) -> None:
    ET.SubElement(parent, f"{{{ATOM}}}{tag}").text = _xml_safe(value)


def _xml_safe(text: str) -> str:
    """XML 1.0 has no place for most control characters, escaped or not."""
    return re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", "", text)


def _when(moment: datetime) -> str:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()
