"""LaTeX in titles and abstracts, made readable as plain Unicode text.

pylatexenc parses and converts (symbols, accents, fonts, `\\frac`); around it, three small
passes say what arXiv metadata needs: a `$` opens math only when it touches its content (so
`costs $5 and $10` stays prices), sub/superscripts become Unicode where every character has
one (`x_i` -> xᵢ, `10^{-3}` -> 10⁻³) else stay readable (`d_{emb}` -> d_emb), and font
commands show their letter as is (`\\mathcal{L}` -> L, `\\hat{\\theta}` -> θ).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from pylatexenc import latexwalker
from pylatexenc.latex2text import LatexNodes2Text, MacroTextSpec, get_default_latex_context_db
from pylatexenc.macrospec import MacroSpec

SUPER = dict(zip("0123456789+-=()abdeikmnoptxT", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ᵃᵇᵈᵉⁱᵏᵐⁿᵒᵖᵗˣᵀ", strict=True))
SUB = dict(zip("0123456789+-=()aeijklmnoprstuvx", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ", strict=True))

# Font switches and accents over a symbol show their argument as is: \mathcal{L} reads "L".
UNWRAP = [
    *("mathcal", "mathbf", "mathrm", "mathit", "mathsf", "mathtt", "mathfrak", "boldsymbol"),
    *("bm", "operatorname", "hat", "tilde", "bar", "vec", "widehat", "widetilde"),
    *("overline", "underline"),
]
SYMBOLS = {"epsilon": "ε", "phi": "φ"}  # the letters as most fonts draw them

MATH = re.compile(r"(?<!\\)\$\$?(?=\S)(.+?)(?<=\S)(?<!\\)\$\$?|\\\((.+?)\\\)", re.S)
GROUP = r"\{((?:[^{}]|\{[^{}]*\})*)\}"
SCRIPT = re.compile(r"([_^])(?:" + GROUP + r"|(\\[A-Za-z]+\s*(?:\{[^{}]*\})?|[^\s{}\\]))")
LITERAL = re.compile(r"(?<!\\)[%&]")  # a percentage, not a comment; "Q&A", not a column
DOLLAR = re.compile(r"(?<!\\)\$")  # outside math: a price


def _fraction(node, l2tobj: LatexNodes2Text) -> str:  # pylatexenc passes l2tobj by name
    parts = (l2tobj.nodelist_to_text([arg]) for arg in node.nodeargd.argnlist[-2:])
    return "/".join(p if len(p) == 1 or p.isalnum() else f"({p})" for p in parts)


def _contexts():
    """pylatexenc's macro tables with ours first, and without its typographic specials: a
    `~`, `--` or `''` in metadata is meant as typed."""
    walker = latexwalker.get_default_latex_context_db().filter_context(
        exclude_categories=["nonascii-specials"]
    )
    walker.add_context_category(  # and the arguments its text side expects
        "paperboy",
        prepend=True,
        macros=[MacroSpec(m, "{") for m in UNWRAP] + [MacroSpec("href", "{{")],
    )
    text = get_default_latex_context_db().filter_context(exclude_categories=["nonascii-specials"])
    text.add_context_category(
        "paperboy",
        prepend=True,
        macros=[MacroTextSpec(m, "%s") for m in UNWRAP]
        + [MacroTextSpec(m, s) for m, s in SYMBOLS.items()]
        + [MacroTextSpec(f, _fraction) for f in ("frac", "dfrac", "tfrac")],
    )
    text.set_unknown_macro_spec(MacroTextSpec("", lambda node: node.macroname))  # its word
    return walker, text


class _Text(LatexNodes2Text):
    """Keeps the space a source writes after a macro without arguments (`\\alpha \\leq
    \\beta`, `90\\% F`), where LaTeX, and pylatexenc by default, would drop it."""

    def macro_node_to_text(self, node) -> str:
        text = super().macro_node_to_text(node)
        bare = not (node.nodeargd and node.nodeargd.argnlist)
        return text + node.macro_post_space if bare else text


WALKER_CONTEXT, TEXT_CONTEXT = _contexts()
TO_TEXT = _Text(  # spaces as the source has them: `90\\% $F_1$` keeps its space
    TEXT_CONTEXT,
    math_mode="text",
    strict_latex_spaces={"between-macro-and-chars": True, "between-latex-constructs": True},
)


def _text(latex: str) -> str:
    walker = latexwalker.LatexWalker(latex, latex_context=WALKER_CONTEXT, tolerant_parsing=True)
    return TO_TEXT.nodelist_to_text(walker.get_latex_nodes()[0])


def _script(match: re.Match) -> str:
    """A sub/superscript in Unicode when every character has one, else as `_x`, `^(a b)`."""
    mark, group, single = match.groups()
    latex = group if group is not None else single
    body = _text(latex)
    table = SUPER if mark == "^" else SUB
    if body and all(c in table for c in body):
        return "{}" + "".join(table[c] for c in body)  # {}: `\\ellₙ` is no macro's name
    return mark + (latex if len(body) <= 1 or body.isalnum() else f"({latex})")


@lru_cache(maxsize=8192)
def readable(text: str) -> str:
    """Plain Unicode for a title or abstract with inline LaTeX; plain text passes unchanged."""
    if "$" not in text and "\\" not in text:
        return text
    source = LITERAL.sub(r"\\\g<0>", text)
    latex, at = [], 0
    for m in MATH.finditer(source):
        body = m.group(1) if m.group(1) is not None else m.group(2)
        latex += [DOLLAR.sub(r"\\$", source[at : m.start()]), "$", SCRIPT.sub(_script, body), "$"]
        at = m.end()
    latex.append(DOLLAR.sub(r"\\$", source[at:]))
    try:
        plain = _text("".join(latex))
    except Exception:  # a source's malformed markup (`\\href{x}`) must not fail a send
        return text
    return unicodedata.normalize("NFC", re.sub(r"[ \t]{2,}", " ", plain))
