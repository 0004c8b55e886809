"""A reader's own papers ("seeds"), read from what they paste or upload: arXiv ids, arXiv URLs,
DOIs, one per line, or a BibTeX / RIS file as Zotero, Mendeley and Google Scholar export it.

Pure: text in, one `Seed` per line or entry out, each with the line it came from, so every
seed that cannot be used is reported where the reader wrote it. Looking ids up is the
worker's job (`worker.ingest.seeds`); recording them as liked papers is `add_seeds`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import PurePath

from sqlmodel import Session, col, select

from models import feedback
from models.tables import Paper

MAX_SEEDS = 200  # per paste or file: more is a library, not a seed list
MAX_SHOWN = 80  # characters of the reader's text repeated back in a problem
# New style 2611.01234v2; old style hep-th/9901001 or math.GT/0309136; after "arXiv:", an
# abs/pdf URL, or arXiv's DOI prefix 10.48550/arXiv.
_ID = r"(?P<id>\d{4}\.\d{4,5}|[a-z][a-z-]*(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?"
ARXIV_IN_TEXT = re.compile(
    r"(?:arxiv\.org/(?:abs|pdf)/|arxiv[:.]\s*|10\.48550/arxiv\.)" + _ID, re.IGNORECASE
)
BARE_ID = re.compile(_ID + r"(?:\.pdf)?$")
DOI = re.compile(r"(?:doi\.org/|doi:\s*)?(?P<doi>10\.\d{4,9}/\S+)", re.IGNORECASE)
COMMENT = re.compile(r"(^|\s)#.*")  # a URL's #fragment is no comment
BIB_FIELD = re.compile(r"(\w+)\s*=\s*", re.ASCII)
RIS_LINE = re.compile(r"^([A-Z][A-Z0-9])  -(?: (.*))?$")
# Where exports put an arXiv id: BibTeX fields, RIS tags.
BIB_FIELDS = ("eprint", "url", "doi", "journal", "note", "arxivid", "howpublished")
RIS_TAGS = ("UR", "DO", "L1", "L2", "N1", "JO", "JF", "T2", "AN", "M3")


@dataclass(frozen=True)
class Seed:
    """One line or entry: the paper it names (an arXiv id, or a DOI) or why it names none."""

    line: int  # 1-based, in the reader's text or file
    text: str  # what the reader wrote there, shortened
    paper_id: str | None = None  # versionless arXiv id, or a lower-case DOI
    problem: str | None = None  # in the reader's words, when paper_id is None
    origin: str = "line "  # what the line number is in: "refs.bib:", "--seed "

    def describe(self) -> str:
        """'line 3: “Attention is all you need”: no arXiv id or DOI in this entry'."""
        return f"{self.origin}{self.line}: “{self.text}”: {self.problem}"

    def failed(self, problem: str) -> Seed:
        """This seed, found to name no paper Paperboy can have."""
        return replace(self, paper_id=None, problem=problem)


def _shown(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 1] + "…"


def paper_id_in(text: str) -> str | None:
    """The arXiv id (versionless) or DOI a piece of text names, or None."""
    text = text.strip().strip("{}\"'<>")
    if m := ARXIV_IN_TEXT.search(text):
        return m["id"]
    if m := BARE_ID.match(text):
        return m["id"]
    if m := DOI.search(text):
        return m["doi"].rstrip(".,;)").lower()
    return None


def parse_lines(text: str) -> list[Seed]:
    """One id, URL or DOI per line (commas and spaces also separate); '#' starts a comment. A
    line naming no paper at all is one problem, not one per word."""
    seeds: list[Seed] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = COMMENT.sub("", raw).strip()
        parts = [(p, paper_id_in(p)) for p in re.split(r"[,\s;]+", line) if p]
        if parts and not any(found for _, found in parts):
            parts = [(line, None)]
        for part, found in parts:
            problem = None if found else "not an arXiv id, arXiv URL or DOI"
            seeds.append(Seed(number, _shown(part), found, problem))
    return seeds


def _bib_value(text: str, start: int) -> tuple[str, int]:
    """A field value from `start`: {braced} (nested braces kept), "quoted" or a bare word;
    returns (value, where it ends)."""
    if text.startswith("{", start):
        depth = 0
        for i in range(start, len(text)):
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            if depth == 0:
                return text[start + 1 : i], i + 1
        return text[start + 1 :], len(text)
    if text.startswith('"', start):
        end = text.find('"', start + 1)
        end = len(text) if end < 0 else end
        return text[start + 1 : end], end + 1
    m = re.compile(r"[^,}\s]*").match(text, start)
    return (m.group(0), m.end()) if m else ("", start)


def _bib_entries(text: str) -> list[tuple[int, str]]:
    """(line, body) of each @type{...} entry; @comment, @string and @preamble are skipped."""
    out: list[tuple[int, str]] = []
    for m in re.finditer(r"@(\w+)\s*[{(]", text):
        if m.group(1).lower() in ("comment", "string", "preamble"):
            continue
        depth, i = 1, m.end()
        while i < len(text) and depth:
            depth += {"{": 1, "(": 1, "}": -1, ")": -1}.get(text[i], 0)
            i += 1
        out.append((text.count("\n", 0, m.start()) + 1, text[m.end() : i - 1]))
    return out


def parse_bibtex(text: str) -> list[Seed]:
    """One seed per entry: its arXiv id from eprint, url, doi (10.48550/arXiv.*), journal or
    note (Google Scholar writes "arXiv preprint arXiv:2301.00001"), else a non-arXiv DOI."""
    seeds: list[Seed] = []
    for line, body in _bib_entries(text):
        fields: dict[str, str] = {}
        key, _, rest = body.partition(",")
        pos = 0
        while m := BIB_FIELD.search(rest, pos):
            value, pos = _bib_value(rest, m.end())
            fields.setdefault(m.group(1).lower(), " ".join(value.split()))
        label = (fields.get("title") or key.strip() or "entry").replace("{", "").replace("}", "")
        seeds.append(_from_fields(line, label, [fields.get(f, "") for f in BIB_FIELDS]))
    return seeds


def parse_ris(text: str) -> list[Seed]:
    """One seed per TY … ER record, from its UR, DO, N1, JO … tags."""
    seeds: list[Seed] = []
    start, tags = 0, dict[str, list[str]]()
    for number, raw in enumerate(text.splitlines(), 1):
        m = RIS_LINE.match(raw.strip("\ufeff").rstrip())
        if not m:
            continue
        tag, value = m.group(1), (m.group(2) or "").strip()
        if tag == "TY":
            start, tags = number, {}
        elif tag == "ER" and start:
            label = (tags.get("TI") or tags.get("T1") or ["record"])[0]
            values = [v for t in RIS_TAGS for v in tags.get(t, [])]
            seeds.append(_from_fields(start, label, values))
            start = 0
        else:
            tags.setdefault(tag, []).append(value)
    return seeds


def _from_fields(line: int, label: str, values: list[str]) -> Seed:
    arxiv = next((m["id"] for v in values if (m := ARXIV_IN_TEXT.search(v))), None)
    if arxiv is None:
        arxiv = next((m["id"] for v in values if (m := BARE_ID.match(v.strip()))), None)
    if arxiv:
        return Seed(line, _shown(label), arxiv)
    doi = next((m["doi"].rstrip(".,;)").lower() for v in values if (m := DOI.search(v))), None)
    if doi:
        return Seed(line, _shown(label), doi)
    return Seed(line, _shown(label), problem="no arXiv id or DOI in this entry")


def parse_file(name: str, text: str, origin: str = "line ") -> list[Seed]:
    """By the file's suffix (.bib, .ris; anything else: one id or URL per line), or by its
    first mark when the suffix says nothing (a pasted BibTeX or RIS export)."""
    suffix = PurePath(name).suffix.lower()
    head = text.lstrip("\ufeff \r\n\t")
    if suffix == ".bib" or (suffix not in (".ris", ".txt") and head.startswith("@")):
        seeds = parse_bibtex(text)
    elif suffix == ".ris" or (suffix != ".txt" and head.startswith("TY  -")):
        seeds = parse_ris(text)
    else:
        seeds = parse_lines(text)
    return [replace(s, origin=origin) for s in seeds]


def decode(name: str, data: bytes) -> str:
    """An uploaded or given file's text: UTF-8 (with or without BOM), else Latin-1 as
    reference managers on older systems write it; ValueError for a binary file."""
    if b"\x00" in data[:4096]:
        raise ValueError(f"{name} is not a text file: export BibTeX (.bib), RIS (.ris) or a list")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def check_count(seeds: list[Seed]) -> None:
    """ValueError when there are more seeds than one sign-up takes."""
    if len(seeds) > MAX_SEEDS:
        raise ValueError(
            f"{len(seeds)} papers is more than the {MAX_SEEDS} Paperboy takes at once: "
            "keep the ones closest to what you want to read"
        )


def stored(session: Session, paper_ids: set[str]) -> set[str]:
    """The ids among `paper_ids` already stored as papers."""
    if not paper_ids:
        return set()
    return set(session.exec(select(Paper.id).where(col(Paper.id).in_(paper_ids))))


def add_seeds(session: Session, subscriber_id: int, paper_ids: list[str]) -> int:
    """Record stored papers as the reader's likes (they shape the profile, and a paper the
    reader voted on is never picked for them); returns how many were added."""
    for paper_id in paper_ids:
        feedback.record(session, subscriber_id, paper_id, 1)
    return len(paper_ids)
