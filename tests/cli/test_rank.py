"""`paperboy rank`: the offline JSONL contract, through the real command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from models.reasons import Kind, Reason

PAPERS = [
    {
        "id": "2401.00001",
        "title": "Graph neural networks for molecule property prediction",
        "abstract": "We study message passing graph neural networks on molecular graphs.",
        "authors": ["A. Author"],
        "categories": ["cs.LG"],
        "published": "2024-01-01T00:00:00Z",
    },
    {
        "id": "2401.00002",
        "title": "Diffusion models for image synthesis",
        "abstract": "Denoising diffusion probabilistic models generate images.",
    },
    {
        "id": "2401.00003",
        "title": "Policy gradients in reinforcement learning",
        "abstract": "We analyse policy gradient methods for control.",
        "upvotes": 3,
    },
    {
        "id": "2401.00004",
        "title": "Graph transformers for molecules",
        "abstract": "Attention over molecular graphs improves property prediction.",
    },
]
PROFILES = [
    {"id": "mol", "interests": "graph neural networks for molecules"},
    {"id": 7, "interests": "image diffusion models", "disliked": ["2401.00001"]},
]


def _run(
    tmp_path: Path, *extra: str, profiles_in=PROFILES, env: dict | None = None
) -> subprocess.CompletedProcess:
    papers, profiles = tmp_path / "p.jsonl", tmp_path / "s.jsonl"
    papers.write_text("\n".join(json.dumps(p) for p in PAPERS) + "\n")
    profiles.write_text("\n".join(json.dumps(p) for p in profiles_in) + "\n")
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "cli",
            "rank",
            "--papers",
            str(papers),
            "--profiles",
            str(profiles),
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def test_rank_prints_one_json_line_per_profile_best_first(tmp_path: Path) -> None:
    result = _run(tmp_path, "--top", "2")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["subscriber"] for line in lines] == ["mol", 7]
    mol = lines[0]["papers"]
    assert len(mol) == 2
    assert {p["id"] for p in mol} == {"2401.00001", "2401.00004"}
    assert mol[0]["score"] >= mol[1]["score"]
    assert set(mol[0]) == {"id", "score", "reasons"} and mol[0]["reasons"]
    for reason in mol[0]["reasons"]:  # typed: {"kind", "text", ...}, as a digest stores them
        assert reason["kind"] in {k.value for k in Kind} and reason["text"]
        assert Reason.from_json(reason).to_json() == reason
    assert lines[1]["papers"][0]["id"] == "2401.00002"


def test_rank_can_still_cut_below_half_the_best_match(tmp_path: Path) -> None:
    """The relative cut is off by default (it dropped relevant papers) but still a setting:
    the graph transformer paper is under half the score of the graph neural network one for
    this reader, so RELATIVE_FLOOR=0.5 leaves it out."""
    result = _run(tmp_path, "--top", "2", env={"RELATIVE_FLOOR": "0.5"})
    assert result.returncode == 0, result.stderr
    mol = json.loads(result.stdout.splitlines()[0])["papers"]
    assert [p["id"] for p in mol] == ["2401.00001"]


def test_rank_writes_batch_by_batch_in_input_order_with_progress(tmp_path: Path) -> None:
    many = [
        {"id": i, "interests": ("graph molecules", "image diffusion")[i % 2]} for i in range(10_003)
    ]
    result = _run(tmp_path, "--top", "1", profiles_in=many)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["subscriber"] for line in lines] == list(range(10_003))
    assert lines[10_002]["papers"][0]["id"] == lines[0]["papers"][0]["id"] == "2401.00004"
    assert lines[10_001]["papers"][0]["id"] == "2401.00002"
    assert "ranked 10,000 of 10,003 profiles" in result.stderr
    assert "ranked 10,003 of 10,003 profiles" in result.stderr


def test_rank_rejects_bad_jsonl_with_a_clear_message(tmp_path: Path) -> None:
    (tmp_path / "bad.jsonl").write_text('{"id": "x", "title": "t"\n')
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "cli",
            "rank",
            "--papers",
            str(tmp_path / "bad.jsonl"),
            "--profiles",
            str(tmp_path / "bad.jsonl"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "bad.jsonl:1" in result.stderr and "not valid JSON" in result.stderr
