"""Seed parsing: ids, URLs and DOIs, and BibTeX / RIS as reference managers export them."""

from __future__ import annotations

import pytest

from models import seeds
from tests import FIXTURES

SEEDS = FIXTURES / "seeds"


def _found(found: list[seeds.Seed]) -> list[tuple[int, str | None]]:
    return [(s.line, s.paper_id) for s in found]


def test_lines_accept_ids_urls_and_dois_and_name_the_line_of_anything_else() -> None:
    text = (
        "2611.10001v2\n"
        "https://arxiv.org/abs/2611.10002  # a comment\n"
        "https://arxiv.org/pdf/hep-th/9901001v1.pdf, arXiv:math.GT/0309136\n"
        "https://doi.org/10.48550/arXiv.2611.10004\n"
        "doi:10.1145/3292500.3330701\n"
        "\n"
        "attention is all you need\n"
    )
    found = seeds.parse_lines(text)
    assert _found(found) == [
        (1, "2611.10001"),
        (2, "2611.10002"),
        (3, "hep-th/9901001"),
        (3, "math.GT/0309136"),
        (4, "2611.10004"),
        (5, "10.1145/3292500.3330701"),
        (7, None),
    ]
    assert found[-1].describe() == (
        "line 7: “attention is all you need”: not an arXiv id, arXiv URL or DOI"
    )


def test_bibtex_finds_ids_in_eprint_url_doi_journal_and_note() -> None:
    found = seeds.parse_file("refs.bib", (SEEDS / "zotero.bib").read_text(), origin="refs.bib:")
    assert _found(found) == [
        (3, "2611.10001"),
        (13, "2611.10002"),
        (20, "2611.10003"),
        (27, None),
        (33, "2611.99999"),
        (38, "10.1145/3292500.3330701"),
    ]
    assert found[0].text == "Optimal and Efficient Algorithms for General Mixable Losses"
    assert found[3].describe() == (
        "refs.bib:27: “A Book Without Any Identifier”: no arXiv id or DOI in this entry"
    )


def test_ris_reads_one_seed_per_record_from_its_url_and_doi_tags() -> None:
    found = seeds.parse_file("library.ris", (SEEDS / "mendeley.ris").read_text())
    assert _found(found) == [(1, "2611.10004"), (7, "2611.10005"), (12, None)]
    assert found[2].problem == "no arXiv id or DOI in this entry"


def test_a_file_without_a_telling_suffix_is_read_by_its_first_mark() -> None:
    bib = (SEEDS / "zotero.bib").read_text()
    assert _found(seeds.parse_file("export", bib)) == _found(seeds.parse_bibtex(bib))
    ris = (SEEDS / "mendeley.ris").read_text()
    assert _found(seeds.parse_file("paste", ris)) == _found(seeds.parse_ris(ris))
    mine = (SEEDS / "mine.txt").read_text()
    assert _found(seeds.parse_file("mine.txt", mine)) == [
        (2, "2611.10009"),
        (3, "2611.10007"),
        (5, None),
        (6, "cs/0112017"),
    ]


def test_latin1_files_are_read_and_binary_ones_refused() -> None:
    text = "@misc{x, title={Réseaux de neurones}, eprint={2611.10001}}"
    assert seeds.decode("x.bib", text.encode("latin-1")) == text
    assert seeds.decode("x.bib", ("\ufeff" + text).encode("utf-8")) == text
    with pytest.raises(ValueError, match="not a text file"):
        seeds.decode("x.pdf", b"%PDF-1.7\x00\x00binary")


def test_more_seeds_than_one_sign_up_takes_are_refused() -> None:
    found = seeds.parse_lines("\n".join(f"2611.{i:05d}" for i in range(seeds.MAX_SEEDS + 1)))
    with pytest.raises(ValueError, match="more than the 200"):
        seeds.check_count(found)
