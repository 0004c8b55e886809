"""A realistic digest without a database: for the benchmark, the tests and template work.

The papers are real; their upvotes, comments, GitHub stars, AI summaries and reasons are
illustrative (invented), so a picture made from this sample shows the layout, not live data.

Links are real signed tokens (so their length, and the size budget, are honest).
`worst=True` makes every field far longer than real metadata (titles, 300 authors, abstracts,
reasons, URLs): the size budget and the phone layout are checked against it.
"""

from __future__ import annotations

from datetime import date

from emails.render import DigestContext, paper_card
from emails.tokens import link
from models.reasons import POPULAR, Reason

PAPERS: list[dict] = [
    {
        "paper_id": "2311.13601",
        "categories": ["cs.CV"],
        "title": "Visual In-Context Prompting",
        "authors": ["Feng Li", "Qing Jiang", "Hao Zhang", "Tianhe Ren", "Shilong Liu"],
        "abstract": "In-context prompting in large language models (LLMs) has become a prevalent "
        "approach to improve zero-shot capabilities, but this idea is less explored in the vision "
        "domain. We introduce a universal visual in-context prompting framework for both "
        "referring and generic segmentation. By joint training on COCO and SA-1B, our model "
        "achieves $57.7$ PQ on COCO and $23.2$ PQ on ADE20K.",
        "ai_summary": "A single prompt encoder lets one vision model segment and detect from "
        "strokes, boxes, points or reference images, reaching 57.7 PQ on COCO.",
        "reasons": [
            Reason.phrase("in-context prompting"),
            Reason.phrase("segmentation"),
            Reason.trending(128),
        ],
        "upvotes": 128,
        "comments": 6,
        "github_repo": "https://github.com/UX-Decoder/DINOv",
        "github_stars": 1240,
    },
    {
        "paper_id": "2311.13600",
        "categories": ["cs.CV", "cs.LG"],
        "title": "ZipLoRA: Any Subject in Any Style by Effectively Merging LoRAs",
        "authors": ["Viraj Shah", "Nataniel Ruiz", "Forrester Cole", "Erika Lu"],
        "abstract": "Methods for finetuning generative models for concept-driven personalization "
        "generally achieve strong results for subject-driven or style-driven generation. We "
        "propose ZipLoRA, a method to cheaply and effectively merge independently trained style "
        "and subject LoRAs in order to achieve generation of any user-provided subject in any "
        "user-provided style.",
        "reasons": [
            Reason.phrase("LoRA"),
            Reason.phrase("diffusion models"),
            Reason.author("Nataniel Ruiz"),
        ],
        "upvotes": 45,
    },
    {
        "paper_id": "2311.13110",
        "categories": ["cs.LG", "stat.ML"],
        "title": r"$\sigma$-PCA: a unified neural model for linear and nonlinear principal "
        "component analysis",
        "authors": ["Fahdi Kanavati", "Lucy Katsnith", "Masayuki Tsuneki"],
        "abstract": r"Linear principal component analysis (PCA), nonlinear PCA, and linear "
        r"independent component analysis (ICA) are three methods with single-layer autoencoder "
        r"formulations for learning linear transformations from data. We reformulate them in "
        r"$O(d_{emb})$ memory, with a learning rate of $10^{-3}$ and weights "
        r"$W \in \mathbb{R}^{d \times k}$.",
        "reasons": [Reason.phrase("principal component analysis"), Reason.phrase("LoRA")],
    },
    {
        "paper_id": "2311.13602",
        "title": "Retrieval-Augmented Generation für mehrsprachige Modelle: 多语言检索增强 🚀",
        "authors": ["Jürgen Müller", "李华", "Ώρα Παπαδοπούλου"],
        "abstract": "We study retrieval-augmented generation across 40 languages, including "
        "Chinese (中文), Greek (Ελληνικά) and Arabic (العربية), and release a benchmark. 🧪",
        "reasons": [Reason.phrase("retrieval-augmented generation"), Reason.phrase("multilingual")],
        "upvotes": 12,
        "comments": 1,
    },
    {
        "paper_id": "2311.13603",
        "title": '<script>alert("x")</script> "><img src=x onerror=alert(1)> Robust Parsing',
        "authors": ["Mallory <b>Evil</b>", "O'Brien & Sons"],
        "abstract": "A title that tries to be HTML must stay text: <b>bold</b>, &amp; and "
        "<a href='javascript:alert(1)'>links</a> are shown, never run.",
        "reasons": [Reason.phrase("robust parsing")],
        "github_repo": "javascript:alert(1)",
    },
    {
        "paper_id": "2311.13604",
        "categories": ["cs.CL", "cs.LG"],
        "title": "PaSS: Parallel Speculative Sampling",
        "authors": ["Giovanni Monea", "Armand Joulin", "Edouard Grave"],
        "abstract": "Scaling the size of language models to tens of billions of parameters has "
        "led to impressive performance on a wide range of tasks. At generation, these models "
        "are used auto-regressively, requiring a forward pass for each generated token. We "
        "propose parallel decoding as a way to draft multiple tokens from a single model.",
        "reasons": [Reason.phrase("speculative decoding"), Reason.phrase("language models")],
        "upvotes": 31,
        "github_repo": "facebookresearch/pass",
        "github_stars": 87,
    },
    {
        "paper_id": "2311.13605",
        "title": "Covariance alignment: from maximum likelihood estimation to Gromov-Wasserstein",
        "authors": ["Yanjun Han", "Philippe Rigollet", "George Stepaniants"],
        "abstract": r"Feature alignment methods are used in many scientific disciplines for data "
        r"pooling, annotation, and comparison. We show that $\hat{\Sigma}$ converges at rate "
        r"$n^{-1/2}$ and that the Gromov-Wasserstein estimator is minimax optimal.",
        "reasons": [Reason.phrase("optimal transport")],
    },
    {
        "paper_id": "2311.13606",
        "title": "Labeling Neural Representations with Inverse Recognition",
        "authors": ["Kirill Bykov", "Laura Kopf", "Shinichi Nakajima", "Marius Kloft"],
        "abstract": "Deep Neural Networks (DNNs) demonstrate remarkable capabilities in learning "
        "complex hierarchical data representations, but the nature of these representations "
        "remains largely unknown. We propose Inverse Recognition (INVERT), a scalable approach "
        "for connecting learned representations with human-understandable concepts.",
        "reasons": [Reason.phrase("interpretability")],
        "upvotes": 9,
    },
    {
        "paper_id": "2311.13607",
        "title": "Adaptive Sampling for Deep Learning via Efficient Nonparametric Proxies",
        "authors": ["Shabnam Daghaghi", "Benjamin Coleman", "Benito Geordie"],
        "abstract": "Data sampling is an effective method to improve the training speed of "
        "neural networks, with recent results demonstrating that it can even break the neural "
        "scaling laws. We propose a nonparametric proxy based on locality-sensitive hashing.",
        "reasons": [POPULAR],
    },
    {
        "paper_id": "2311.13608",
        "title": "A Survey of Serverless Machine Learning Model Inference",
        "authors": ["Kamil Kojs"],
        "abstract": "Recent developments in generative AI, computer vision, and natural language "
        "processing have led to an increased integration of AI models into a wide range of "
        "products. This survey covers serverless inference, cold starts and autoscaling.",
        "reasons": [Reason.phrase("model serving"), Reason.author("Kamil Kojs")],
    },
]

TRENDING: list[dict] = [
    {
        "paper_id": "2311.11045",
        "title": "Orca 2: Teaching Small Language Models How to Reason",
        "authors": ["Arindam Mitra", "Luciano Del Corro", "Shweti Mahajan"],
        "abstract": "Orca 2 teaches small language models to choose a reasoning strategy.",
        "reasons": [Reason.trending(71)],
        "upvotes": 71,
    },
    {
        "paper_id": "2311.10122",
        "title": "Video-LLaVA: Learning United Visual Representation by Alignment Before "
        "Projection",
        "authors": ["Bin Lin", "Yang Ye", "Bin Zhu", "Jiaxi Cui"],
        "abstract": "One language model over images and videos, aligned before projection.",
        "reasons": [Reason.trending(52)],
        "upvotes": 52,
        "github_repo": "PKU-YuanGroup/Video-LLaVA",
        "github_stars": 2300,
    },
    {
        "paper_id": "2311.05556",
        "title": "LCM-LoRA: A Universal Stable-Diffusion Acceleration Module",
        "authors": ["Simian Luo", "Yiqin Tan", "Suraj Patil", "Daniel Gu"],
        "abstract": "Latent consistency distillation as a LoRA that speeds up any SD model.",
        "reasons": [Reason.trending(38)],
        "upvotes": 38,
    },
]

LONG_TITLE = "A Very Long Title About " + " ".join(["Scalable Transformer Architectures"] * 20)
LONG_ABSTRACT = " ".join(
    ["We propose a method with $O(n \\log n)$ cost that scales to $10^{9}$ tokens."] * 60
)
MANY_AUTHORS = [f"Author Withaverylongname{i:03d} Collaboration Consortium" for i in range(300)]


def sample_papers(n: int, *, worst: bool = False, records: list[dict] = PAPERS) -> list[dict]:
    """n paper records, cycling `records`; `worst` makes every field as long as possible."""
    papers = []
    for i in range(n):
        paper = dict(records[i % len(records)], paper_id=f"2311.{14000 + i}")
        if worst:
            paper |= {
                "title": f"{LONG_TITLE} {i}",
                "authors": MANY_AUTHORS,
                "abstract": LONG_ABSTRACT,
                "ai_summary": None,
                "reasons": [Reason.phrase(f"long topic phrase number {j}") for j in range(12)]
                + [Reason.author(MANY_AUTHORS[0]), Reason.trending(99999)],
                "upvotes": 99999,
                "comments": 9999,
                "github_repo": "https://github.com/" + "a" * 39 + "/" + "b" * 100,
                "github_stars": 999999,
                "categories": [f"cs.{'X' * 30}{j}" for j in range(20)],
            }
        papers.append(paper)
    return papers


def sample_digest(
    n: int = 10,
    *,
    worst: bool = False,
    subscriber_id: int = 4242,
    secret: str = "sample-secret",
    base_url: str = "https://paperboy.example",
    to_email: str = "reader@example.org",
    trending: int = len(TRENDING),
) -> DigestContext:
    """A digest of n papers and `trending` "Trending today" ones for one subscriber, with
    real signed links."""
    version = 1

    def vote(paper_id: str, value: int) -> str:
        return link(
            base_url,
            secret,
            "feedback",
            subscriber_id=subscriber_id,
            version=version,
            paper_id=paper_id,
            vote=value,
        )

    cards, hot = (
        [
            paper_card(
                **{k: v for k, v in p.items() if k != "paper_id"},
                key=p["paper_id"],
                abs_url=f"https://arxiv.org/abs/{p['paper_id']}",  # as ingest stores arXiv's
                source="arXiv",
                pages=[("Hugging Face", f"https://huggingface.co/papers/{p['paper_id']}")],
                more_url=vote(p["paper_id"], 1),
                less_url=vote(p["paper_id"], -1),
            )
            for p in records
        ]
        for records in (
            sample_papers(n, worst=worst),
            sample_papers(trending, worst=worst, records=TRENDING)
            if worst
            else TRENDING[:trending],
        )
    )
    unsubscribe = link(
        base_url, secret, "unsubscribe", subscriber_id=subscriber_id, version=version
    )
    return DigestContext(
        to_email=to_email,
        frequency="daily",
        edition=date(2026, 11, 22),
        papers=cards,
        preferences_url=link(
            base_url, secret, "preferences", subscriber_id=subscriber_id, version=version
        ),
        unsubscribe_url=unsubscribe,
        unsubscribe_mailto="mailto:unsubscribe@paperboy.example?subject=unsubscribe%20"
        + unsubscribe.rsplit("/", 1)[1],
        postal_address="Paperboy Demo, 1 Example Street, 00000 Example City",
        list_id="Paperboy digest <digest.paperboy.example>",
        digest_ref="digest-4242",
        trending=hot,
        archive_url=link(
            base_url, secret, "digest", subscriber_id=subscriber_id, version=version, digest_id=4242
        ),
    )
