"""A digest's cards rendered once per paper, filled per reader.

Thousands of readers of an edition get the same few hundred papers; what differs in a card
from one reader to the next is a handful of values: the reader's signed links, the why-line,
the number in the list. The digest templates mark each card as a Jinja block (`pick` for the
picks, `trend` for the trending papers; the text part's why-line is a block of its own,
`why`), and `Filler.render` renders the page as Jinja does, except that each card block is
taken from a cache of fragments: the block rendered once with stand-ins ("slots") for the
reader's values, cut at the slots, and filled here with those values, escaped as the template
would have escaped them. The bytes are the plain render's (the tests hold the two to it).

What a card block may read, so that a fragment is the same for every reader who gets it:
- `p`'s fields, whichever it likes; the reader's (`SLOTS`: the paper's link, the why-line,
  the vote links, the abstract's link) only printed whole or tested for truth;
- `loop.index`, only printed (a stand-in of as many characters: the wrap of "10. Title" is
  the wrap of "xx. Title");
- `archive_url`, only printed or tested for truth, and `full`.
Anything else (another variable, `p.topics`, arithmetic on the index) fails the fragment's
render, and the email is rendered by plain Jinja instead, with a warning.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import fields
from operator import attrgetter
from typing import Any

import jinja2
from markupsafe import escape

log = logging.getLogger(__name__)

CARD_BLOCKS = ("pick", "trend")
WHY_BLOCK = "why"  # the text part's why-line: wrapped, so filled whole, once per why-line
SLOTS = {"url": "U", "why": "W", "more_url": "M", "less_url": "L", "ref_url": "R"}
UNREAD = ("topics",)  # a reader's fields no card shows (the subject names them)
MARK, DIGIT = "\x00", "\x01"  # a slot is MARK + its letter; the index, DIGIT per digit
SLOT = re.compile(f"{MARK}([A-Z])|({DIGIT}+)")
# A block cut at its slots: [text, None, text, None, ..., text] and the slots' codes in order
Fragment = tuple[list, tuple[str, ...]]
KEPT = 8192  # fragments per template; then the cache starts afresh
WHYS_KEPT = 16384


class FragmentError(RuntimeError):
    """A card block that does not render the same from a fragment: the template reads
    something a fragment cannot hold (see above), or a paper's text holds a stand-in."""


class _Unread:
    """A field a card must not show: any use of it fails the fragment's render."""

    def _refuse(self, *_: object) -> Any:
        raise TypeError("a digest card block read a field it must not (fill.UNREAD)")

    __bool__ = __iter__ = __len__ = __str__ = __html__ = _refuse  # type: ignore[assignment]


class _Loop:
    """The card loop as a card block may read it: its index."""

    __slots__ = ("index",)

    def __init__(self, index: str):
        self.index = index


class _Why:
    """The card as the `why` block may read it: the why-line."""

    __slots__ = ("why",)

    def __init__(self, why: str):
        self.why = why


class Filler:
    """One template's card fragments. `html`: the template escapes what it prints
    (autoescape), as markupsafe does; else it prints values as they are (the text part)."""

    def __init__(self, template: jinja2.Template, html: bool, card: type):
        self.template = template
        self.html = html
        names = [f.name for f in fields(card)]
        self.face_of = attrgetter(*(n for n in names if n not in SLOTS and n not in UNREAD))
        self.values_of = attrgetter(*names)
        self.slots = [(names.index(n), MARK + letter) for n, letter in SLOTS.items()]
        self.unread = [names.index(n) for n in UNREAD]
        self.fragments: dict[tuple, Fragment] = {}
        self.whys: dict[str, str] = {}
        self.failed = False

    def render(self, values: dict) -> str:
        """`template.render(values)`, the cards from fragments."""
        if not self.failed:
            try:
                return self._render(values)
            except Exception:
                self.failed = True  # a template this module cannot split: plain Jinja from now
                log.warning("digest cards: rendering without fragments", exc_info=True)
        return self.template.render(values)

    def _render(self, values: dict) -> str:
        ctx = self.template.new_context(values)
        for name in CARD_BLOCKS:
            if name in ctx.blocks:
                ctx.blocks[name] = [self._card(name, values)]
        return "".join(self.template.root_render_func(ctx))

    def _card(self, name: str, values: dict) -> Callable[[Any], Iterator[str]]:
        """The block `name` of this email: each card its fragment, filled."""
        archive, full = values.get("archive_url"), values.get("full")
        archived = archive and True
        fragments = self.fragments

        def block(context: Any) -> Iterator[str]:
            p = context.resolve_or_missing("p")
            digits = str(context.resolve_or_missing("loop").index)
            # A slot's value is in the key only as "set" (True) or as the falsy value it is
            key = (
                name,
                self.face_of(p),
                p.url and True,
                p.why and True,
                p.more_url and True,
                p.less_url and True,
                p.ref_url and True,
                len(digits),
                archived,
                full,
            )
            fragment = fragments.get(key)
            if fragment is None:
                fragment = self._fragment(name, p, digits, archive, full)
                if len(fragments) >= KEPT:
                    fragments.clear()
                fragments[key] = fragment
            yield self._fill(fragment, p, digits, archive)

        return block

    def _fill(self, fragment: Fragment, p: Any, digits: str, archive: Any) -> str:
        texts, codes = fragment
        if not codes:
            return texts[0]
        slot = {
            "U": p.url,
            "W": p.why,
            "M": p.more_url,
            "L": p.less_url,
            "R": p.ref_url,
            "A": archive,
            "D": digits,
        }
        if self.html:  # one escape for the card's values: markupsafe's, character by character
            values = str(escape(MARK.join(map(slot.__getitem__, codes)))).split(MARK)
        else:
            if "Y" in codes:
                slot["Y"] = self._why(p.why)
            values = list(map(slot.__getitem__, codes))
            if MARK in "".join(values):
                values = []
        if len(values) != len(codes):  # a value holding a stand-in's mark
            raise FragmentError("a reader's value holds a stand-in")
        parts = texts.copy()
        parts[1::2] = values
        return "".join(parts)

    def _fragment(self, name: str, p: Any, digits: str, archive: Any, full: Any) -> Fragment:
        """The block rendered with stand-ins, cut at them; checked once against the block's
        own render for this card."""
        values = list(self.values_of(p))
        for i, stand_in in self.slots:
            if values[i]:
                values[i] = stand_in
        for i in self.unread:
            values[i] = _Unread()
        ctx = self.template.new_context(
            {
                "p": type(p)(*values),
                "loop": _Loop(DIGIT * len(digits)),
                "archive_url": MARK + "A" if archive else archive,
                "full": full,
            }
        )
        if WHY_BLOCK in ctx.blocks:
            ctx.blocks[WHY_BLOCK] = [lambda _: iter((MARK + "Y",))]
        parts = SLOT.split("".join(self.template.blocks[name](ctx)))
        # parts: text, letter or None, digits or None, text, ...
        codes = tuple("D" if letter is None else letter for letter in parts[1::3])
        texts: list = [None] * (2 * len(codes) + 1)
        texts[::2] = parts[::3]
        fragment = (texts, codes)
        plain = self.template.new_context(
            {"p": p, "loop": _Loop(int(digits)), "archive_url": archive, "full": full}
        )
        if self._fill(fragment, p, digits, archive) != "".join(self.template.blocks[name](plain)):
            raise FragmentError(f"the {name} block's fragment differs from its render")
        return fragment

    def _why(self, why: str) -> str:
        text = self.whys.get(why)
        if text is None:
            ctx = self.template.new_context({"p": _Why(why)})
            text = "".join(self.template.blocks[WHY_BLOCK](ctx))
            if len(self.whys) >= WHYS_KEPT:
                self.whys.clear()
            self.whys[why] = text
        return text


FIELD = {letter: name for name, letter in SLOTS.items()}
