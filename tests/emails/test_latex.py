# ruff: noqa: RUF001 - expected outputs are Unicode look-alikes on purpose
"""LaTeX in titles and abstracts becomes text a human reads."""

from __future__ import annotations

import pytest

from emails.latex import readable


@pytest.mark.parametrize(
    ("tex", "shown"),
    [
        ("$σ$-PCA: a unified neural model", "σ-PCA: a unified neural model"),
        (r"$\sigma$-PCA", "σ-PCA"),
        (r"memory in $O(d_{emb})$", "memory in O(d_emb)"),
        (r"a rate of $10^{-3}$", "a rate of 10⁻³"),
        (r"$x_i^2$ and $\ell_1$", "xᵢ² and ℓ₁"),
        (r"$W \in \mathbb{R}^{d \times k}$", "W ∈ ℝ^(d × k)"),
        (r"$\alpha \leq \beta$, $\epsilon \to 0$", "α ≤ β, ε → 0"),
        (r"\mathcal{L}-smooth, \textbf{bold} and \emph{new}", "L-smooth, bold and new"),
        (r"$\mathcal{O}(n \log n)$", "O(n log n)"),
        (r"$\frac{1}{2}$ and $\frac{a+b}{n}$", "1/2 and (a+b)/n"),
        (r"$\hat{\theta}$", "θ"),
        (r"57.7\% PQ \& more", "57.7% PQ & more"),
        (r"Erd\H{o}s, G\"odel, Poincar\'e", "Erdős, Gödel, Poincaré"),
        (r"$k$-NN", "k-NN"),
    ],
)
def test_readable_converts_inline_latex(tex: str, shown: str) -> None:
    assert readable(tex) == shown


@pytest.mark.parametrize(
    "text",
    [
        "Plain title: no markup at all",
        "costs $5 and $10 per run",  # prices, not math: `$` followed or preceded by a space
        "snake_case_names and a^b outside math stay",
        "多语言检索增强 🚀 Ελληνικά",
    ],
)
def test_readable_leaves_plain_text_alone(text: str) -> None:
    assert readable(text) == text


def test_readable_drops_unknown_commands_but_keeps_their_words() -> None:
    assert readable(r"the \foo method and $\mathrm{Adam}$") == "the foo method and Adam"
