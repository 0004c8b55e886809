"""The ranking core: TF-IDF relevance of papers to subscriber profiles, with reasons.

Pure: takes plain data (PaperDoc, Profile), returns plain data (Pick). The planner,
`paperboy rank` and the preferences page all call this one implementation; `artifact` is the
only part that touches the disk (the shared fitted model).
"""

from worker.ranking import artifact
from worker.ranking.model import FitParams, Model
from worker.ranking.scoring import rank, rank_batches, ranker
from worker.ranking.types import (
    PaperDoc,
    Pick,
    Profile,
    RankParams,
    doc_from_json,
    profile_from_json,
    trending_score,
)

__all__ = [
    "FitParams",
    "Model",
    "PaperDoc",
    "Pick",
    "Profile",
    "RankParams",
    "artifact",
    "doc_from_json",
    "profile_from_json",
    "rank",
    "rank_batches",
    "ranker",
    "trending_score",
]
