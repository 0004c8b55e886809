"""The fitted model as a shared, versioned file: every worker loads it, one refits on change.

The artifact is a pickle of {version, fingerprint, model} written to a temporary file and
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
from worker.ranking.types import PaperDoc

ARTIFACT = "relevance-model.pkl"
log = logging.getLogger(__name__)


def save(model: Model, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / ARTIFACT
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".relevance-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            pickle.dump(
                {"version": model.version, "fingerprint": model.fingerprint, "model": model},
                f,
                protocol=pickle.HIGHEST_PROTOCOL,
            )
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def load(directory: Path) -> Model | None:
    """The stored model, or None if there is none, it is of another version, or it cannot be
    read (a damaged file must cost a refit, not a day without digests)."""
    try:
        with (directory / ARTIFACT).open("rb") as f:
            stored = pickle.load(f)
    except FileNotFoundError:
        return None
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, ValueError) as e:
        log.warning("relevance model artifact unreadable (%s: %s); refitting", type(e).__name__, e)
        return None
    if not isinstance(stored, dict) or stored.get("version") != MODEL_VERSION:
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
