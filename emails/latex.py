# ruff: noqa: RUF001 - the Unicode look-alikes are the point of this module
"""LaTeX in titles and abstracts, made readable as plain Unicode text.

Not a TeX engine: a few rules that cover what arXiv metadata actually contains
(`$\\sigma$-PCA`, `$O(d_{emb})$`, `\\mathcal{L}`, `10^{-3}`, `\\textbf{x}`).
Sub/superscripts become Unicode where every character has one (`x_i` -> xᵢ,
`10^{-3}` -> 10⁻³), else stay readable (`d_{emb}` -> d_emb).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

GREEK = {
    name: chr(code)
    for name, code in {
        "alpha": 0x3B1,
        "beta": 0x3B2,
        "gamma": 0x3B3,
        "delta": 0x3B4,
        "epsilon": 0x3B5,
        "varepsilon": 0x3B5,
        "zeta": 0x3B6,
        "eta": 0x3B7,
        "theta": 0x3B8,
        "vartheta": 0x3D1,
        "iota": 0x3B9,
        "kappa": 0x3BA,
        "lambda": 0x3BB,
        "mu": 0x3BC,
        "nu": 0x3BD,
        "xi": 0x3BE,
        "pi": 0x3C0,
        "rho": 0x3C1,
        "sigma": 0x3C3,
        "tau": 0x3C4,
        "upsilon": 0x3C5,
        "phi": 0x3C6,
        "varphi": 0x3C6,
        "chi": 0x3C7,
        "psi": 0x3C8,
        "omega": 0x3C9,
        "Gamma": 0x393,
        "Delta": 0x394,
        "Theta": 0x398,
        "Lambda": 0x39B,
        "Xi": 0x39E,
        "Pi": 0x3A0,
        "Sigma": 0x3A3,
        "Upsilon": 0x3A5,
        "Phi": 0x3A6,
        "Psi": 0x3A8,
        "Omega": 0x3A9,
    }.items()
}

SYMBOLS = GREEK | {
    "times": "×",
    "cdot": "·",
    "cdots": "⋯",
    "ldots": "…",
    "dots": "…",
    "le": "≤",
    "leq": "≤",
    "ge": "≥",
    "geq": "≥",
    "neq": "≠",
    "ne": "≠",
    "approx": "≈",
    "sim": "∼",
    "simeq": "≃",
    "equiv": "≡",
    "propto": "∝",
    "pm": "±",
    "mp": "∓",
    "infty": "∞",
    "to": "→",
    "rightarrow": "→",
    "Rightarrow": "⇒",
    "leftarrow": "←",
    "leftrightarrow": "↔",
    "mapsto": "↦",
    "in": "∈",
    "notin": "∉",
    "subset": "⊂",
    "subseteq": "⊆",
    "cup": "∪",
    "cap": "∩",
    "forall": "∀",
    "exists": "∃",
    "partial": "∂",
    "nabla": "∇",
    "sum": "∑",
    "prod": "∏",
    "int": "∫",
    "sqrt": "√",
    "ell": "ℓ",
    "star": "⋆",
    "ast": "∗",
    "circ": "∘",
    "oplus": "⊕",
    "otimes": "⊗",
    "langle": "⟨",
    "rangle": "⟩",
    "lVert": "‖",
    "rVert": "‖",
    "|": "‖",
    "log": "log",
    "exp": "exp",
    "min": "min",
    "max": "max",
    "arg": "arg",
    "lim": "lim",
    "sin": "sin",
    "cos": "cos",
    "%": "%",
    "&": "&",
    "_": "_",
    "#": "#",
    "$": "$",
    "{": "{",
    "}": "}",
    "textasciitilde": "~",
}
SPACES = {",", ";", ":", "!", " ", "quad", "qquad", "left", "right", "big", "Big", "bigl", "bigr"}
# Commands whose argument is shown as is: font and text switches.
UNWRAP = {
    "mathcal",
    "mathbf",
    "mathrm",
    "mathit",
    "mathsf",
    "mathtt",
    "mathfrak",
    "boldsymbol",
    "bm",
    "textbf",
    "textit",
    "textrm",
    "textsf",
    "texttt",
    "textsc",
    "text",
    "emph",
    "operatorname",
    "mbox",
    "hat",
    "tilde",
    "bar",
    "vec",
    "widehat",
    "widetilde",
    "overline",
    "underline",
}
DOUBLE_STRUCK = {"R": "ℝ", "N": "ℕ", "Z": "ℤ", "Q": "ℚ", "C": "ℂ", "E": "𝔼", "P": "ℙ"}
ACCENTS = {
    "'": "\u0301",
    "`": "\u0300",
    '"': "\u0308",
    "^": "\u0302",
    "~": "\u0303",
    "=": "\u0304",
    "c": "\u0327",
    "H": "\u030b",
    "v": "\u030c",
    "u": "\u0306",
}

SUPER = dict(zip("0123456789+-=()abdeikmnoptxT", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ᵃᵇᵈᵉⁱᵏᵐⁿᵒᵖᵗˣᵀ", strict=True))
SUB = dict(zip("0123456789+-=()aeijklmnoprstuvx", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ", strict=True))

GROUP = r"\{((?:[^{}]|\{[^{}]*\})*)\}"  # one brace level of nesting is enough for metadata
MATH = re.compile(r"(?<!\\)\$\$?(?=\S)(.+?)(?<=\S)(?<!\\)\$\$?|\\\((.+?)\\\)", re.S)
ACCENT = re.compile(r"\\([`'\"^~=]|[cHvu](?=\{))\{?([A-Za-z])\}?")
BB = re.compile(r"\\mathbb\{?([A-Z])\}?")
WRAPPED = re.compile(r"\\(" + "|".join(sorted(UNWRAP, key=len, reverse=True)) + r")\s*" + GROUP)
FRAC = re.compile(r"\\[dt]?frac\s*" + GROUP + r"\s*" + GROUP)
SCRIPT = re.compile(r"([_^])(?:" + GROUP + r"|(\\[A-Za-z]+|[^\s{}\\]))")
COMMAND = re.compile(r"\\([A-Za-z]+|[^A-Za-z\s])")


def _script(match: re.Match) -> str:
    mark, group, single = match.group(1), match.group(2), match.group(3)
    body = _commands(group if group is not None else single)
    table = SUPER if mark == "^" else SUB
    if body and all(c in table for c in body):
        return "".join(table[c] for c in body)
    if len(body) == 1 or body.isalnum():
        return mark + body
    return f"{mark}({body})"


def _fraction(match: re.Match) -> str:
    num, den = (_commands(g) for g in match.groups())
    return "/".join(g if len(g) == 1 or g.isalnum() else f"({g})" for g in (num, den))


def _command(match: re.Match) -> str:
    name = match.group(1)
    if name in SPACES:
        return " " if name in {"quad", "qquad", " ", ";", ":"} else ""
    if name in SYMBOLS:
        return SYMBOLS[name]
    return name if name.isalpha() else ""


def _commands(text: str) -> str:
    text = ACCENT.sub(lambda m: m.group(2) + ACCENTS[m.group(1)], text)
    text = BB.sub(lambda m: DOUBLE_STRUCK.get(m.group(1), m.group(1)), text)
    for _ in range(3):  # nested \mathbf{\hat{x}}
        text = WRAPPED.sub(r"\2", text)
    text = FRAC.sub(_fraction, text)
    return COMMAND.sub(_command, text)


def _math(match: re.Match) -> str:
    body = match.group(1) if match.group(1) is not None else match.group(2)
    body = SCRIPT.sub(_script, body)
    return _commands(body).replace("{", "").replace("}", "")


@lru_cache(maxsize=8192)
def readable(text: str) -> str:
    """Plain Unicode for a title or abstract with inline LaTeX; plain text passes unchanged."""
    if "$" not in text and "\\" not in text:
        return text
    text = MATH.sub(_math, text)
    text = _commands(text)
    text = re.sub(r"(?<!\\)\{([^{}]*)\}", r"\1", text)  # stray grouping braces outside math
    return unicodedata.normalize("NFC", re.sub(r"[ \t]{2,}", " ", text))
