"""`Model.embed_interests` analyzes each interests text once and derives everything from it;
these check it against the rules read literally, every phrase and the whole text analyzed
on its own, so a shortcut that changes any row, phrase group or distinctive flag fails."""

from __future__ import annotations

from itertools import pairwise

import pytest

from worker.ranking import Model, PaperDoc, RankParams
from worker.ranking.model import _PHRASES, MAX_GROUPS, SPANNING, analyze


def reference_groups(model: Model, text: str, share: float) -> dict[int, tuple[int, bool]]:
    """Term id -> (group, distinctive), computed the straightforward way."""
    vocabulary = model.vectorizer.vocabulary_
    common = model.generic(share)

    def ids(piece: str) -> list[int]:
        return [vocabulary[t] for t in analyze(piece) if t in vocabulary]

    parts = _PHRASES.split(text)
    within = {i for part in parts for i in ids(part)}
    found: dict[int, tuple[int, bool]] = {}
    alone: set[int] = set()
    n_groups = 0
    for part in parts:
        words = {i for i in ids(part) if " " not in str(model.vocab[i])}
        distinctive = {i for i in words if not common[i]}
        if len(distinctive) < 2 or n_groups == MAX_GROUPS:
            alone |= words if len(words) == 1 else set()
            continue
        for i in words:
            found.setdefault(i, (n_groups, i in distinctive))
        n_groups += 1
    out = {i: v for i, v in found.items() if i not in alone}
    out.update({i: (SPANNING, False) for i in ids(text) if i not in within})
    return out


def varied_texts(model: Model, corpus: list[PaperDoc]) -> list[str]:
    """Titles alone and joined every way, spanning 2-word terms, repeats, more phrases than
    MAX_GROUPS, empty and punctuation-only texts, LaTeX, accents and odd whitespace."""
    titles = [p.title for p in corpus[:40]]
    phrases = [str(t) for t in model.vocab[model.is_phrase][:60]]
    spanning = [p.replace(" ", ", ") for p in phrases] + [p.replace(" ", " and ") for p in phrases]
    return [
        *titles,
        *spanning,
        *(f"{a}; {b} / {a}" for a, b in pairwise(phrases)),
        *(f"{t}, {t.split()[-1]}" for t in titles),
        *(f"{p}, {p.replace(' ', ', ')}" for p in phrases),  # spans what is also typed
        "; ".join(titles[: MAX_GROUPS + 3]),
        "\n".join(phrases[:12]),
        "",
        " ",
        ",,;/ and or",
        "and",
        f"{phrases[0]}, {phrases[0]}, {phrases[0]}",
        f"\\mathcal{{{phrases[1]}}}\\and {phrases[2]}",
        f"Schrödinger\u00a0{phrases[3]},\u2003{phrases[4]}\tANDor",
        f"{titles[0].upper()} OR {titles[1]}",
    ]


@pytest.mark.parametrize("share", [RankParams().generic_share, 0.01, 0.2])
def test_embed_interests_follows_the_rules_read_literally(
    model: Model, corpus: list[PaperDoc], share: float
) -> None:
    texts = varied_texts(model, corpus)
    texts += texts[:5]  # repeated texts get the same rows
    rows, group, need = model.embed_interests(texts, share)
    expected = model.embed_texts(texts)
    assert (rows.indptr == expected.indptr).all() and (rows.indices == expected.indices).all()
    assert (rows.data == expected.data).all()
    assert (group == SPANNING).any() and (group >= 0).any() and need.any()
    for r, text in enumerate(texts):
        reference = reference_groups(model, text, share)
        at = slice(rows.indptr[r], rows.indptr[r + 1])
        got = list(zip(group[at].tolist(), need[at].tolist(), strict=True))
        want = [reference.get(t, (-1, False)) for t in rows.indices[at].tolist()]
        assert got == want, text
