"""The fitted model as a shared, versioned file: every worker loads it, one refits on change;
and the latest edition's candidates, as the ranker prepares them, likewise.

The model artifact is a pickle of {version, fingerprint, model} written to a temporary file and
moved into place with os.replace, so a reader sees the old model or the new one, never half.
It is our own file under PAPERBOY_HOME/artifacts: never load one from elsewhere.
"""

from __future__ import annotations

import logging
import os
import pickle
import tempfile
from collections.abc import Sequence
from pathlib import Path

from worker.ranking.model import MODEL_VERSION, FitParams, Model, fingerprint
from worker.ranking.scoring import Candidates
from worker.ranking.types import PaperDoc, RankParams

ARTIFACT = "relevance-model.pkl"
# what a damaged file, or one pickled by other code (a deploy), raises on loading
UNREADABLE = (pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError, ValueError)
CANDIDATES = "candidates.pkl"  # the latest edition's `Candidates`, as built
log = logging.getLogger(__name__)


def save(model: Model, directory: Path) -> Path:
    return _write(
        directory / ARTIFACT,
        {"version": model.version, "fingerprint": model.fingerprint, "model": model},
    )


def _write(target: Path, stored: dict) -> Path:
    """`stored` pickled to `target` whole or not at all (a temporary file, then os.replace)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.stem}-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            pickle.dump(stored, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def _read(path: Path) -> dict | None:
    """A stored dict, or None if there is none or it cannot be read (a damaged file must
    cost a rebuild, not a day without digests)."""
    try:
        with path.open("rb") as f:
            stored = pickle.load(f)
    except FileNotFoundError:
        return None
    except UNREADABLE as e:
        log.warning("artifact %s unreadable (%s: %s); rebuilding", path.name, type(e).__name__, e)
        return None
    return stored if isinstance(stored, dict) else None


def load(directory: Path) -> Model | None:
    """The stored model, or None if there is none, it is of another version, or it cannot be
    read."""
    stored = _read(directory / ARTIFACT)
    if stored is None or stored.get("version") != MODEL_VERSION:
        return None
    return stored["model"]


def load_or_fit(
    directory: Path, corpus: Sequence[PaperDoc], params: FitParams | None = None
) -> tuple[Model, bool]:
    """The model for this corpus: the stored one if its fingerprint matches, else a fresh fit
    (saved for the other workers). Returns (model, refitted)."""
    params = params or FitParams()
    stored = load(directory)
    if stored is not None and stored.fingerprint == fingerprint(corpus, params):
        return stored, False
    model = Model.fit(corpus, params)
    save(model, directory)
    return model, True


def candidates(
    directory: Path, papers: Sequence[PaperDoc], model: Model, params: RankParams
) -> Candidates:
    """An edition's `Candidates`, built by the first planner (`plan_due`) and loaded by every
    other process planning its chunks (a few ms instead of over half a second each); rebuilt
    and stored again whenever the fingerprint (papers, model, params, build) differs."""
    key = Candidates.fingerprint(papers, model, params)
    stored = _read(directory / CANDIDATES)
    if stored is not None and stored.get("fingerprint") == key:
        return Candidates.from_built(papers, model, stored["built"])
    built = Candidates.build(papers, model, params)
    _write(directory / CANDIDATES, {"fingerprint": key, "built": built.built()})
    return built
