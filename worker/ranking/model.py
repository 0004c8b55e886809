"""The fitted TF-IDF space: one vocabulary and idf for papers and profiles alike.

A paper is one document, its title's words counted (1 + `title_weight`) times an abstract
word, so a word in the title counts more than the same word in the abstract. (Two separately
normalized views, title and abstract, ranked 2-3% worse on the liked-paper benchmark over 10
seeds.) Words and 2-word phrases, sublinear tf, English stop words; LaTeX control words and
math markup are dropped before tokenizing, accents are folded.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import pairwise

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS as STOP_WORDS
from sklearn.feature_extraction.text import (
    CountVectorizer,
    TfidfVectorizer,
    strip_accents_unicode,
)
from sklearn.preprocessing import normalize

from worker.ranking.types import PaperDoc

MODEL_VERSION = 2  # bump when featurization changes: stored artifacts of older versions refit
_TOKENS = re.compile(r"(?u)\b[a-z][a-z0-9]+\b")
_LATEX = re.compile(r"\\[A-Za-z]+|[\\{}$^_~]")
_WORD = re.compile(r"(?u)\b\w+\b")
_TOKEN_FULL = re.compile(r"[a-z][a-z0-9]+")
_SPACE = re.compile(r"\s+")
_JOINED = re.compile(r"\s*-?\s*")
MAX_PHRASE_WORDS = 4  # a reason phrase runs on to at most this many words
COHESION = 0.3  # a set phrase is in this share of the papers with its rarer word, at least
MAX_GROUPS = 8  # typed phrases per interests text that are matched whole (more: word by word)
SPANNING = -2  # the group of a 2-word term across two typed phrases ("classification, graph")
_PHRASES = re.compile(r"[,;/\n]|\band\b|\bor\b")  # a typed interests text: one phrase each


def preprocess(text: str) -> str:
    """Lowercase, fold accents, drop LaTeX commands (`\\mathcal`, `$`, braces)."""
    text = _LATEX.sub(" ", text).lower()
    return text if text.isascii() else strip_accents_unicode(text)


def kept_words(text: str) -> list[str]:
    """The text's words, stop words dropped: `analyze` without its 2-word phrases."""
    return [w for w in _TOKENS.findall(preprocess(text)) if w not in STOP_WORDS]


def analyze(text: str) -> list[str]:
    """Words (stop words dropped) and the 2-word phrases of consecutive kept words: what
    sklearn's word analyzer does with these settings, in one function for speed."""
    return _with_pairs(kept_words(text))


def typed_words(text: str) -> list[list[str]]:
    """The kept words of each typed phrase of an interests text (empty ones included). The
    separators are never inside a word, so these, run together, are the text's own words
    (tests check it): the text needs no second analysis."""
    return [kept_words(part) for part in _PHRASES.split(text)]


def joined_terms(parts: list[list[str]]) -> list[str]:
    """`analyze` of the text whose `typed_words` these are, rebuilt from them."""
    return _with_pairs([w for part in parts for w in part])


def _with_pairs(words: list[str]) -> list[str]:
    """The words, then the 2-word phrases of consecutive ones: the analyzer's terms."""
    return words + [f"{a} {b}" for a, b in pairwise(words)]


@dataclass(frozen=True)
class FitParams:
    phrase_min_df: int = 2
    max_df: float = 0.5
    title_weight: float = 0.3

    def effective(self, n_docs: int) -> tuple[int, float]:
        """df cut-offs only make sense on a real corpus: a handful of papers keeps every term."""
        return (self.phrase_min_df if n_docs >= 50 else 1), (self.max_df if n_docs >= 20 else 1.0)


def fingerprint(papers: Iterable[PaperDoc], params: FitParams) -> str:
    """Changes when any paper's text, the set of papers or the fit parameters change."""
    h = hashlib.sha256(f"v{MODEL_VERSION}|{params}".encode())
    for p in sorted(papers, key=lambda p: p.id):
        h.update(f"\x1e{p.id}\x1f{p.title}\x1f{p.abstract}".encode())
    return h.hexdigest()


@dataclass
class Model:
    """A vectorizer fitted on a corpus (None when the corpus had no usable words)."""

    vectorizer: TfidfVectorizer | None
    title_weight: float
    fingerprint: str
    version: int = MODEL_VERSION

    @classmethod
    def fit(cls, papers: Sequence[PaperDoc], params: FitParams | None = None) -> Model:
        """Vocabulary: every word (a word unique to one new paper is exactly what a subscriber
        may type), 2-word phrases seen in `phrase_min_df` papers; none in over `max_df`."""
        params = params or FitParams()
        phrase_min_df, max_df = params.effective(len(papers))
        texts = [f"{p.title}. {p.abstract}" for p in papers]
        try:
            counter = CountVectorizer(analyzer=analyze, binary=True, max_df=max_df)
            df = np.asarray(counter.fit_transform(texts).sum(axis=0)).ravel()
        except ValueError:  # empty corpus, or nothing but stop words
            return cls(None, params.title_weight, fingerprint(papers, params))
        vocabulary = sorted(
            term
            for term, i in counter.vocabulary_.items()
            if df[i] >= phrase_min_df or " " not in term
        )
        vectorizer = TfidfVectorizer(
            analyzer=analyze, vocabulary=vocabulary, sublinear_tf=True, dtype=np.float32
        ).fit(texts)
        return cls(vectorizer, params.title_weight, fingerprint(papers, params))

    @property
    def n_terms(self) -> int:
        return len(self.vectorizer.vocabulary_) if self.vectorizer else 0

    @cached_property
    def vocab(self) -> np.ndarray:
        return self.vectorizer.get_feature_names_out() if self.vectorizer else np.array([])

    @cached_property
    def phrase_parts(self) -> np.ndarray:
        """V x 2: a phrase's two words as term ids; -1 for a single word (or a word that is
        not a term of its own)."""
        parts = np.full((self.n_terms, 2), -1, np.int64)
        vocabulary = self.vectorizer.vocabulary_ if self.vectorizer else {}
        for term, i in vocabulary.items():
            if " " in term:
                first, second = term.split(" ")
                parts[i] = vocabulary.get(first, -1), vocabulary.get(second, -1)
        return parts

    @cached_property
    def is_phrase(self) -> np.ndarray:
        """V, bool: the term is a 2-word phrase."""
        return np.array([" " in str(t) for t in self.vocab], dtype=np.bool_)

    @cached_property
    def set_phrases(self) -> frozenset[str]:
        """The phrases whose words mostly come together: in at least COHESION of the papers
        that have the rarer word ("neural networks", "passing neural"), not a chance
        neighbour ("segmentation based", "learning approach")."""
        if not self.vectorizer:
            return frozenset()
        share = self._df_share
        parts = self.phrase_parts
        rarer = np.minimum(share[parts[:, 0]], share[parts[:, 1]])
        found = self.is_phrase & (parts >= 0).all(axis=1) & (share >= COHESION * rarer)
        return frozenset(self.vocab[found].tolist())

    def generic(self, share: float) -> np.ndarray:
        """V, bool: the term is in more than `share` of the corpus papers (read back from the
        idf, ln((1 + n) / (1 + df)) + 1): too common to be a reason on its own."""
        return self._df_share > share if self.vectorizer else np.zeros(0, np.bool_)

    def embed_texts(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """L2-normalized sublinear tf-idf rows (zero for text with no known term): the
        vectorizer's own transform, done in bulk (tests check it equals `transform`).
        Identical texts are analyzed once and counting is one numpy pass, 2-3x faster than the
        vectorizer for the 100k short interests of a planning run."""
        unique: dict[str, int] = {}
        doc = np.fromiter((unique.setdefault(t, len(unique)) for t in texts), np.int64, len(texts))
        return self._weigh(self._counts(list(unique)))[doc].tocsr()

    def embed_interests(
        self, texts: Sequence[str], generic_share: float
    ) -> tuple[sparse.csr_matrix, np.ndarray, np.ndarray]:
        """`embed_texts` and, entry for entry, `_phrase_groups`: each distinct text is
        analyzed once, the three then spread to every row with one indexing."""
        unique: dict[str, int] = {}
        doc = np.fromiter((unique.setdefault(t, len(unique)) for t in texts), np.int64, len(texts))
        parts = [typed_words(t) for t in unique]
        rows = self._weigh(self._count_terms([joined_terms(p) for p in parts]))
        group, need = self._phrase_groups(parts, rows, generic_share)
        tags = sparse.csr_matrix(
            ((group + 3) * 2 + need, rows.indices, rows.indptr), shape=rows.shape, dtype=np.int64
        )
        rows, tags = rows[doc].tocsr(), tags[doc].tocsr()
        return rows, tags.data // 2 - 3, (tags.data % 2).astype(np.bool_)

    def _phrase_groups(
        self, texts: Sequence[list[list[str]]], rows: sparse.csr_matrix, generic_share: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """For each entry of `rows` (`embed_texts` of the texts, given as their `typed_words`):
        the typed phrase its word belongs to (0.. MAX_GROUPS - 1; -1 for a 2-word phrase term,
        a one-word interest, or a phrase with fewer than two distinctive words; SPANNING for a
        2-word term across two typed phrases) and whether the word is distinctive (in at most
        `generic_share` of the corpus). The ranking counts a phrase's words in full only in a
        paper that has two of its distinctive words ("quantum" and "correction"), so one word
        ("Motion Correction") does not pass for the phrase."""
        group = np.full(rows.nnz, -1, np.int64)
        need = np.zeros(rows.nnz, np.bool_)
        if not self.vectorizer:
            return group, need
        common = self.generic(generic_share).tolist()  # a list indexes faster than an array
        for r, parts in enumerate(texts):
            found = self._groups(parts, common)
            at = slice(rows.indptr[r], rows.indptr[r + 1])
            pairs = [found.get(t, (-1, False)) for t in rows.indices[at].tolist()]
            if pairs:
                group[at], need[at] = zip(*pairs, strict=True)
        return group, need

    def typed_parts(self, text: str) -> list[tuple[str, np.ndarray]]:
        """The interests text's typed phrases as the reader wrote them, each with its known
        terms (its words and the 2-word phrases inside it, none spanning two phrases)."""
        get = self.vectorizer.vocabulary_.get if self.vectorizer else {}.get
        parts = (" ".join(part.split()) for part in _PHRASES.split(text))
        return [
            (part, np.array([i for i in map(get, analyze(part)) if i is not None], np.int64))
            for part in parts
            if part
        ]

    def _groups(self, parts: list[list[str]], common: list[bool]) -> dict[int, tuple[int, bool]]:
        """Word id -> (phrase, distinctive) for the words of the text's typed phrases (their
        `typed_words`) that have two distinctive words; a word also typed on its own is no
        phrase's. A 2-word term across two typed phrases is SPANNING: the reader never wrote
        it as one."""
        get = self.vectorizer.vocabulary_.get
        found: dict[int, tuple[int, bool]] = {}
        alone: set[int] = set()
        n_groups = 0
        for words in parts:
            ids = {i for i in map(get, words) if i is not None}
            distinctive = {i for i in ids if not common[i]}
            if len(distinctive) < 2 or n_groups == MAX_GROUPS:
                alone |= ids if len(ids) == 1 else set()
                continue
            found.update({i: (n_groups, i in distinctive) for i in ids if i not in found})
            n_groups += 1
        return {i: v for i, v in found.items() if i not in alone} | self._spanning(parts)

    def _spanning(self, parts: list[list[str]]) -> dict[int, tuple[int, bool]]:
        """The 2-word terms of the text that only span two typed phrases (last word of one,
        first of the next with words): those not also written inside some phrase."""
        get = self.vectorizer.vocabulary_.get
        ends = [(words[0], words[-1]) for words in parts if words]
        across = {f"{a[1]} {b[0]}" for a, b in pairwise(ends)}
        known = {term: i for term in across if (i := get(term)) is not None}
        if not known:
            return {}  # the usual case, one typed phrase: no need to list the inner pairs
        inside = {f"{a} {b}" for words in parts for a, b in pairwise(words)}
        return {i: (SPANNING, False) for term, i in known.items() if term not in inside}

    def embed_papers(self, papers: Sequence[PaperDoc]) -> sparse.csr_matrix:
        return self.embed_counts(self.paper_counts(papers))

    def paper_counts(self, papers: Sequence[PaperDoc]) -> sparse.csr_matrix:
        """Term counts per paper, a title word counting (1 + title_weight) times."""
        titles = self._counts([p.title for p in papers])
        abstracts = self._counts([p.abstract for p in papers])
        counts = ((1.0 + self.title_weight) * titles + abstracts).tocsr()
        counts.eliminate_zeros()
        return counts

    def embed_counts(self, counts: sparse.csr_matrix) -> sparse.csr_matrix:
        """Paper vectors from `paper_counts`, entry for entry (the same sparsity)."""
        return self._weigh(counts)

    def _counts(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """Term counts per text (float32)."""
        return self._count_terms([analyze(t) for t in texts])

    def _count_terms(self, terms: Sequence[list[str]]) -> sparse.csr_matrix:
        """Term counts per text, from each text's `analyze` terms (float32)."""
        if not self.vectorizer or not terms:
            return sparse.csr_matrix((len(terms), self.n_terms), dtype=np.float32)
        get = self.vectorizer.vocabulary_.get
        ids = [[i for i in map(get, row) if i is not None] for row in terms]
        cols = np.fromiter((i for row in ids for i in row), np.int64)
        rows = np.repeat(np.arange(len(ids)), [len(row) for row in ids])
        return sparse.csr_matrix(
            (np.ones(cols.size, np.float32), (rows, cols)), shape=(len(ids), self.n_terms)
        )  # duplicates summed: term counts

    def _weigh(self, counts: sparse.csr_matrix) -> sparse.csr_matrix:
        """Sublinear tf (1 + log count), idf, L2 rows."""
        counts = counts.tocsr().astype(np.float32)
        if not counts.shape[0] or not self.vectorizer:
            return counts
        counts.eliminate_zeros()
        counts.data = (np.log(counts.data) + 1.0) * self._idf[counts.indices]
        return normalize(counts).tocsr()

    @cached_property
    def _idf(self) -> np.ndarray:
        return self.vectorizer.idf_.astype(np.float32)

    @cached_property
    def _df_share(self) -> np.ndarray:
        """V: each term's document frequency / n, read back from the idf."""
        return np.exp(1.0 - self._idf)

    def surfaces(self, paper: PaperDoc, wanted: Iterable[int]) -> dict[int, str]:
        """Term id -> the words as they appear in the paper (title first), for reasons: the
        `wanted` terms only, scanning until all are found. A phrase counts only where it is
        written as one ("node classification", not "classification, and graph"), and runs on
        through the set phrases that follow it there, up to MAX_PHRASE_WORDS words, so it is
        not shown cut: "Graph Neural" reads "Graph Neural Networks" ("neural networks" is a set
        phrase), but "Semantic Segmentation" not "... Segmentation Based"."""
        left = {t for t in wanted if 0 <= t < self.n_terms}
        set_phrase = self.set_phrases
        firsts = {str(self.vocab[t]).split(" ")[0] for t in left if " " in self.vocab[t]}
        vocabulary = self.vectorizer.vocabulary_ if self.vectorizer else {}
        out: dict[int, str] = {}
        for text in (paper.title, paper.abstract):
            if not left:
                break
            text = _LATEX.sub(" ", text)
            if text.isascii():  # positions in the lowered text are positions in the text
                found = ((m.group(), m.start(), m.end()) for m in _TOKENS.finditer(text.lower()))
            else:
                found = (
                    (strip_accents_unicode(m.group().lower()), m.start(), m.end())
                    for m in _WORD.finditer(text)
                )
            kept = [
                (norm, start, end)
                for norm, start, end in found
                if norm not in STOP_WORDS and _TOKEN_FULL.fullmatch(norm)
            ]
            for i, (norm, start, end) in enumerate(kept):
                term = vocabulary.get(norm)
                if term in left:
                    out[term] = text[start:end]
                    left.discard(term)
                if (
                    norm in firsts
                    and i + 1 < len(kept)
                    and _JOINED.fullmatch(text, end, kept[i + 1][1])
                ):  # written as one phrase: only a space or a hyphen between the words
                    term = vocabulary.get(f"{norm} {kept[i + 1][0]}")
                    if term in left:
                        last = i + 1
                        while (
                            last + 1 < len(kept)
                            and last - i + 1 < MAX_PHRASE_WORDS
                            and _JOINED.fullmatch(text, kept[last][2], kept[last + 1][1])
                            and f"{kept[last][0]} {kept[last + 1][0]}" in set_phrase
                        ):
                            last += 1
                        out[term] = _SPACE.sub(" ", text[start : kept[last][2]])
                        left.discard(term)
        return out
