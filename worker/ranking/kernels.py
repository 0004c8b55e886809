"""The per-subscriber inner loop of ranking, compiled (numba, no GIL).

One call ranks a chunk of profiles: it builds each profile's Rocchio vector in a dense
scratch row, scores every candidate, keeps the top k with an insertion sort, and picks the
reasons for those k, then clears the scratch row for the next profile. In numpy the same work
needed B x V scratch blocks and B x J masks that no cache holds (about 40 ms per 1,000
profiles for the reasons alone); here one V-long row stays in L2 and the work is a few
thousand multiply-adds per profile. `nogil` lets two threads rank two chunks at once.

Inputs are grouped in named tuples (numba compiles them as plain tuples, so grouping costs
nothing): sparse matrices as `Csr` (indptr, indices, data), per-profile candidate lists as
`Pairs` (indptr, columns), the candidates' reason slots as `Slots`, the scalars as `Knobs`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from numba import njit

from worker.ranking.model import MAX_GROUPS, SPANNING


def _compiled(fn: Callable) -> Callable:
    """Compiled without the GIL, the machine code cached beside this file (or in numba's
    user cache). Where neither is writable (a read-only image run by a user without a home)
    numba refuses to cache at import; then each process compiles once instead."""
    try:
        return njit(cache=True, nogil=True)(fn)
    except RuntimeError:
        return njit(nogil=True)(fn)


class Csr(NamedTuple):
    """A sparse matrix as its CSR arrays."""

    ptr: np.ndarray
    idx: np.ndarray
    val: np.ndarray


class Pairs(NamedTuple):
    """Per-row column lists: row r's columns are col[ptr[r]:ptr[r + 1]]."""

    ptr: np.ndarray
    col: np.ndarray


class Slots(NamedTuple):
    """Each candidate's W strongest terms, for reasons: J x W ids (-1 = none), weights, which
    overlap (J x W x W), and which may be a reason as a lone word."""

    vocab: np.ndarray
    weights: np.ndarray
    overlap: np.ndarray
    ok: np.ndarray


class Knobs(NamedTuple):
    """The scalar settings of one ranking (see RankParams)."""

    trending_weight: float
    floor: float
    relative_floor: float
    author_boost: float
    category_boost: float
    min_profile_weight: float
    like_share: float
    lone_word_weight: float
    liked_category_boost: float
    carry_share: float
    carry_votes: int


@_compiled
def rank_chunk(
    interests: Csr,  # B x V interests rows (already weighted)
    phrase: np.ndarray,  # per interests entry: its typed phrase (0..), -1 = counts alone,
    # SPANNING = counts alone, never a reason (a 2-word term across two typed phrases)
    distinctive: np.ndarray,  # per interests entry: one of the phrase's distinctive words
    weights: Csr,  # B x U Rocchio weights of referenced papers
    refs: Csr,  # U x V referenced papers' vectors
    ref_scores: np.ndarray,  # U x J: referenced papers . candidates
    postings: Csr,  # V x J candidate vectors, by term
    trend: np.ndarray,  # J
    authors: Pairs,  # followed authors' papers: boost, and pass the floor
    categories: Pairs,  # papers in chosen categories: boost
    liked_shares: Csr,  # B x C: the share of the reader's liked papers in each category
    filed: Pairs,  # J -> the categories the candidate is filed in
    banned: Pairs,  # muted, sent, liked, disliked: never picked
    slots: Slots,  # for reasons
    is_phrase: np.ndarray,  # V
    knobs: Knobs,
    k: int,
    n_slots: int,
    n_terms: int,
):
    """Return (top candidate, score, reason slots, by followed author, liked paper, usable
    profile, carried by the liked-category prior): B x k (-1 where fewer eligible), B x k,
    B x k x n_slots (-1 = none, best first), B x k, B x k (the referenced paper the pick is
    most like, -1 = none), B, B x k (1: without the prior the pick would not be in the top
    k; 2: nor past the floor: `carry_share` of the votes, in its category, carried it)."""
    q_ptr, q_idx, q_val = interests
    w_ptr, w_idx, w_val = weights
    ref_ptr, ref_idx, ref_val = refs
    post_ptr, post_idx, post_val = postings
    author_ptr, author_col = authors
    cat_ptr, cat_col = categories
    share_ptr, share_idx, share_val = liked_shares
    filed_ptr, filed_col = filed
    ban_ptr, ban_col = banned
    slot_vocab, slot_weights, slot_overlap, slot_ok = slots
    trending_weight, floor, relative_floor, author_boost, category_boost = knobs[:5]
    min_profile_weight, like_share, lone_word_weight, liked_category_boost = knobs[5:9]
    carry_share, carry_votes = knobs[9:]
    b = q_ptr.size - 1
    n_cand = trend.size
    width = slot_vocab.shape[1]
    top = np.full((b, k), -1, np.int32)
    top_score = np.zeros((b, k), np.float64)
    reasons = np.full((b, k, n_slots), -1, np.int16)
    followed = np.zeros((b, k), np.bool_)
    liked = np.full((b, k), -1, np.int64)
    carried = np.zeros((b, k), np.int8)
    admitted = np.zeros(n_cand, np.bool_)  # past the floor on its category alone
    n_categories = 1
    for q in range(filed_col.size):
        n_categories = max(n_categories, filed_col[q] + 1)
    share_of = np.zeros(n_categories, np.float64)  # this profile's share per category
    top_plain = np.zeros(k, np.float64)  # each pick's score without the prior
    plain_top = np.empty(k, np.float64)  # the k best scores without the prior
    relevance = np.empty(n_cand, np.float64)
    usable = np.zeros(b, np.bool_)
    query = np.zeros(n_terms, np.float64)
    seen = np.zeros(n_terms, np.bool_)
    touched = np.empty(n_terms, np.int64)
    score = np.empty(n_cand, np.float64)
    eligible = np.empty(n_cand, np.bool_)
    hit_slot = np.empty(width, np.int64)
    hit_value = np.empty(width, np.float64)
    hit_score = np.empty(width, np.float64)
    in_phrase = np.full(n_terms, -1, np.int64)  # the profile's typed phrase of each term
    typed = np.zeros(n_terms, np.bool_)  # the reader typed it: only those are phrase reasons
    said = np.zeros(n_cand, np.float64)  # one typed phrase's score per candidate
    lone = np.zeros(n_cand, np.float64)  # the score from typed phrases' lone words
    n_said = np.zeros(n_cand, np.int64)  # ...and how many of its distinctive words it has
    whole = np.zeros((MAX_GROUPS, n_cand), np.bool_)  # the candidate has that phrase whole
    hit_cand = np.empty(n_cand, np.int64)
    for r in range(b):
        # the profile vector q, dense: interests + sum of weighted papers. The two loops are
        # written out: through a shared inlined helper the kernel ran 1.5x slower (measured)
        n_touched = 0
        for p in range(q_ptr[r], q_ptr[r + 1]):
            t = q_idx[p]
            if not seen[t]:
                seen[t] = True
                touched[n_touched] = t
                n_touched += 1
            query[t] += q_val[p]
        for p in range(w_ptr[r], w_ptr[r + 1]):
            u, w = w_idx[p], w_val[p]
            for s in range(ref_ptr[u], ref_ptr[u + 1]):
                t = ref_idx[s]
                if not seen[t]:
                    seen[t] = True
                    touched[n_touched] = t
                    n_touched += 1
                query[t] += w * ref_val[s]
        norm = 0.0
        for i in range(n_touched):
            norm += query[touched[i]] ** 2
        usable[r] = norm > 0.0

        # relevance = q . c / |q|: interests through the postings, papers through ref_scores
        score[:] = 0.0
        n_phrases = 0
        for p in range(q_ptr[r], q_ptr[r + 1]):
            t, v = q_idx[p], q_val[p]
            typed[t] = phrase[p] != SPANNING
            if phrase[p] >= 0:
                in_phrase[t] = phrase[p]
                n_phrases = max(n_phrases, phrase[p] + 1)
                continue
            for s in range(post_ptr[t], post_ptr[t + 1]):
                score[post_idx[s]] += v * post_val[s]
        # a typed phrase's words count in full where two of its distinctive words are
        # (the phrase matched whole), `lone_word_weight` where one word stands alone
        for g in range(n_phrases):
            n_hit_cand = 0
            for p in range(q_ptr[r], q_ptr[r + 1]):
                if phrase[p] != g:
                    continue
                t, v = q_idx[p], q_val[p]
                for s in range(post_ptr[t], post_ptr[t + 1]):
                    j = post_idx[s]
                    if said[j] == 0.0 and n_said[j] == 0:
                        hit_cand[n_hit_cand] = j
                        n_hit_cand += 1
                    said[j] += v * post_val[s]
                    n_said[j] += distinctive[p]
            for h in range(n_hit_cand):
                j = hit_cand[h]
                whole[g, j] = n_said[j] >= 2
                if whole[g, j]:
                    score[j] += said[j]
                else:
                    score[j] += said[j] * lone_word_weight
                    lone[j] += said[j] * lone_word_weight
                said[j] = 0.0
                n_said[j] = 0
        for p in range(w_ptr[r], w_ptr[r + 1]):
            u, w = w_idx[p], w_val[p]
            for j in range(n_cand):
                score[j] += w * ref_scores[u, j]
        scale = 1.0 / np.sqrt(norm) if usable[r] else 0.0
        if usable[r]:
            for j in range(n_cand):
                relevance[j] = score[j] * scale
                eligible[j] = (score[j] - lone[j]) * scale >= floor  # lone words carry none
                lone[j] = 0.0
                score[j] = relevance[j] + trending_weight * trend[j]
        else:  # no usable profile: the trending papers
            for j in range(n_cand):
                relevance[j] = 0.0
                eligible[j] = trend[j] > 0
                score[j] = trending_weight * trend[j]
        for p in range(ban_ptr[r], ban_ptr[r + 1]):
            eligible[ban_col[p]] = False
        if usable[r] and relative_floor > 0.0:  # no filler: relative to this reader's best
            best = 0.0
            for j in range(n_cand):
                if eligible[j] and relevance[j] > best:
                    best = relevance[j]
            for j in range(n_cand):
                eligible[j] = eligible[j] and relevance[j] >= relative_floor * best
        for p in range(author_ptr[r], author_ptr[r + 1]):
            score[author_col[p]] += author_boost
            eligible[author_col[p]] = True
        for p in range(cat_ptr[r], cat_ptr[r + 1]):
            score[cat_col[p]] += category_boost
        for p in range(ban_ptr[r], ban_ptr[r + 1]):
            eligible[ban_col[p]] = False
        # the prior: the largest share of liked papers among a candidate's categories, worked
        # out only for a candidate it could lift into the top k (`lift` at most)
        lift = 0.0
        for p in range(share_ptr[r], share_ptr[r + 1]):
            share_of[share_idx[p]] = share_val[p]
            lift = max(lift, liked_category_boost * share_val[p])
        # a paper filed where `carry_share` of the reader's votes are passes the floor, for a
        # reader with `carry_votes` of them or more (a typed-only reader's fed-back picks)
        carrying = carry_share > 0.0 and usable[r] and w_ptr[r + 1] - w_ptr[r] >= carry_votes
        if carrying:
            for j in range(n_cand):
                for q in range(filed_ptr[j], filed_ptr[j + 1]):
                    if not eligible[j] and share_of[filed_col[q]] >= carry_share - 1e-6:
                        eligible[j] = admitted[j] = True
            for p in range(ban_ptr[r], ban_ptr[r + 1]):
                eligible[ban_col[p]] = False

        # top k, best first; among equal scores the earlier candidate. Beside it, where the
        # prior may lift, the k best scores without it: a pick under those it carried
        n_top = 0
        n_plain = 0
        kth = -np.inf  # top_score[r, k - 1] and plain_top[k - 1], kept in registers
        plain_kth = -np.inf
        n_elig = 0  # the eligible candidates listed first, in order, without a branch
        for j in range(n_cand):
            hit_cand[n_elig] = j
            n_elig += eligible[j]
        for e in range(n_elig):
            j = hit_cand[e]
            plain = score[j]
            if lift > 0.0 and not (n_plain == k and plain <= plain_kth):
                i = min(n_plain, k - 1)
                while i > 0 and plain_top[i - 1] < plain:
                    plain_top[i] = plain_top[i - 1]
                    i -= 1
                plain_top[i] = plain
                n_plain = min(n_plain + 1, k)
                plain_kth = plain_top[k - 1]
            if n_top == k and plain + lift <= kth:
                continue
            best_share = 0.0
            if lift > 0.0:
                for q in range(filed_ptr[j], filed_ptr[j + 1]):
                    best_share = max(best_share, share_of[filed_col[q]])
            boosted = plain + liked_category_boost * best_share
            if n_top == k and boosted <= kth:
                continue
            i = min(n_top, k - 1)
            while i > 0 and top_score[r, i - 1] < boosted:
                top[r, i] = top[r, i - 1]
                top_score[r, i] = top_score[r, i - 1]
                top_plain[i] = top_plain[i - 1]
                i -= 1
            top[r, i] = j
            top_score[r, i] = boosted
            top_plain[i] = plain
            n_top = min(n_top + 1, k)
            kth = top_score[r, k - 1]
        for i in range(n_top):  # lifted by the prior, and under the k best without it
            lifted = top_plain[i] < top_score[r, i]
            carried[r, i] = lifted and n_plain == k and top_plain[i] < plain_top[k - 1]
            if admitted[top[r, i]]:
                carried[r, i] = 2
        if carrying:
            admitted[:] = False
        for p in range(share_ptr[r], share_ptr[r + 1]):
            share_of[share_idx[p]] = 0.0

        for i in range(n_top):
            j = top[r, i]
            for p in range(author_ptr[r], author_ptr[r + 1]):
                if author_col[p] == j:
                    followed[r, i] = True
            if not usable[r]:
                continue
            # the liked paper this pick is most like, when it carries `like_share` of it
            best_like = like_share * relevance[j] / scale
            for p in range(w_ptr[r], w_ptr[r + 1]):
                part = w_val[p] * ref_scores[w_idx[p], j]
                if part > best_like:
                    best_like = part
                    liked[r, i] = w_idx[p]
            # reasons: the typed slots with q[t] * c[t] > 0 (a liked paper's words are its
            # reason, not the reader's words) (over the few the profile touches, not
            # all `width`); a phrase is worth its words too, so it wins over them; a word
            # alone must pass `slot_ok` and weigh `min_profile_weight` in the profile
            n_hit = 0
            for w in range(width):
                t = slot_vocab[j, w]
                if t >= 0 and typed[t] and query[t] * slot_weights[j, w] > 0.0:
                    hit_slot[n_hit] = w
                    hit_value[n_hit] = query[t] * slot_weights[j, w]
                    n_hit += 1
            for h in range(n_hit):
                w = hit_slot[h]
                t = slot_vocab[j, w]
                hit_score[h] = 0.0
                if is_phrase[t]:
                    for g in range(n_hit):
                        if slot_overlap[j, w, hit_slot[g]]:
                            hit_score[h] += hit_value[g]
                elif (
                    slot_ok[j, w]
                    and query[t] * scale >= min_profile_weight
                    and (in_phrase[t] < 0 or whole[in_phrase[t], j])
                ):  # a typed phrase's lone word is no reason
                    hit_score[h] = hit_value[h]
            # greedily the best, skipping what overlaps a chosen one
            for step in range(min(n_slots, n_hit)):
                best = -1
                for h in range(n_hit):
                    if hit_score[h] > 0.0 and (best < 0 or hit_score[h] > hit_score[best]):
                        best = h
                if best < 0:
                    break
                chosen = hit_slot[best]
                reasons[r, i, step] = chosen
                for h in range(n_hit):
                    if slot_overlap[j, chosen, hit_slot[h]]:
                        hit_score[h] = 0.0

        for i in range(n_touched):
            query[touched[i]] = 0.0
            seen[touched[i]] = False
            in_phrase[touched[i]] = -1
            typed[touched[i]] = False
        if n_phrases:
            whole[:n_phrases] = False  # rows: one contiguous clear
    return top, top_score, reasons, followed, liked, usable, carried


@_compiled
def closest_parts(
    interests: Csr,  # the batch's interests rows
    rows: np.ndarray,  # per pick: its reader's row of `interests`
    papers: Csr,  # J x V candidate vectors
    cols: np.ndarray,  # per pick: its candidate
    first_part: np.ndarray,  # per pick: the start of its reader's typed phrases in `parts`
    n_parts: np.ndarray,  # per pick: how many there are
    parts: Pairs,  # per typed phrase: its term ids (repeats count again)
    n_terms: int,
) -> np.ndarray:
    """Per pick: the typed phrase (an index of `parts`) whose terms give q . c the most, the
    first of equals, -1 where none gives anything. A term gives the float32 product of its
    two entries, summed in float64 in the phrase's order (the Python loop this replaced)."""
    q_ptr, q_idx, q_val = interests
    c_ptr, c_idx, c_val = papers
    part_ptr, part_col = parts
    q = np.zeros(n_terms, np.float32)
    c = np.zeros(n_terms, np.float32)
    best = np.full(rows.size, -1, np.int64)
    for i in range(rows.size):
        r, j = rows[i], cols[i]
        for p in range(q_ptr[r], q_ptr[r + 1]):
            q[q_idx[p]] = q_val[p]
        for p in range(c_ptr[j], c_ptr[j + 1]):
            c[c_idx[p]] = c_val[p]
        top = 0.0
        for g in range(first_part[i], first_part[i] + n_parts[i]):
            gain = 0.0
            for s in range(part_ptr[g], part_ptr[g + 1]):
                t = part_col[s]
                gain += np.float64(q[t] * c[t])
            if gain > top:  # a gain of 0.0 names nothing; equals keep the first
                top = gain
                best[i] = g
        for p in range(q_ptr[r], q_ptr[r + 1]):
            q[q_idx[p]] = 0.0
        for p in range(c_ptr[j], c_ptr[j + 1]):
            c[c_idx[p]] = 0.0
    return best
