"""A digest in the browser: the "view in browser" link every digest carries, and the
preferences page's list of past digests. Rendered by the one digest renderer, read-only, with
every paper's whole abstract; `/d/TOKEN/bibtex` is the same digest for reference managers."""

from __future__ import annotations

from dataclasses import replace

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session, col, select

from emails.render import build_digest
from models import Digest, DigestItem, Paper, Subscriber, session_scope
from web.deps import DigestLink, Link, SettingsDep
from web.formats import bibtex
from web.pages import message

router = APIRouter()


@router.get("/d/{token}")
def view_digest(link: DigestLink, settings: SettingsDep) -> Response:
    from worker.delivery.send import digest_context  # the mail providers load on first view

    with session_scope() as session:
        digest = _digest(session, link)
        if digest is None:
            return _not_found()
        ctx = digest_context(
            session, digest, session.get(Subscriber, digest.subscriber_id), settings
        )
    return HTMLResponse(build_digest(replace(ctx, full_abstracts=True)).html)


@router.get("/d/{token}/bibtex")
def digest_bibtex(link: DigestLink) -> Response:
    with session_scope() as session:
        digest = _digest(session, link)
        if digest is None:
            return _not_found()
        papers = session.exec(
            select(Paper)
            .join(DigestItem, col(DigestItem.paper_id) == Paper.id)
            .where(DigestItem.digest_id == digest.id)
            .order_by(DigestItem.section, DigestItem.rank)
        ).all()
        text = bibtex(papers)
        name = f"paperboy-{digest.edition}.bib"
    return Response(
        text,
        media_type="application/x-bibtex; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _digest(session: Session, link: Link) -> Digest | None:
    sub = link.subscriber(session)
    digest = session.get(Digest, link.data.digest_id)
    return digest if digest is not None and digest.subscriber_id == sub.id else None


def _not_found() -> Response:
    return message("Digest not found", "We no longer have this digest.", status=404)
