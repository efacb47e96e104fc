"""Fine-tuning: a few steps on a tiny golden set give a loadable model with a model card; the guard marks a
model that does not beat vector-only; the split, the mining and the datasets have the shapes the losses need.

Training runs are a handful of steps with short inputs. Every card's figures are checked against Evaluate on
the held-out queries, and its verdict against those figures. The one "better" verdict comes from a toy forum
collection built so that a few steps can win (a learnable surface cue vector search cannot see); it shows
the mechanics work, never ranking quality on real data.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from statistics import fmean
from typing import Any

import pytest

from reranklens.cli.main import main
from reranklens.config import Settings
from reranklens.errors import InvalidInputError
from reranklens.evaluate.pipelines import EvalConfig, evaluate
from reranklens.evaluate.significance import paired_test
from reranklens.ingest.chunking import ChunkingOptions
from reranklens.models.registry import ModelRegistry
from reranklens.train.trainer import (
    QueryExamples,
    TrainConfig,
    TrainingCancelled,
    build_dataset,
    split_queries,
    train_reranker,
)
from reranklens.workspace import Workspace

COLLECTION = "tiny"
DOCS = {
    "pw": ("Password reset", "To reset your password open the account settings and choose reset password."),
    "backup": ("Nightly backups", "Backups of every volume run each night at two in the morning."),
    "billing": ("Billing", "Invoices are issued on the first day of each month; overdue ones suspend the account."),
    "ratelimit": ("API rate limits", "The public API allows one hundred requests per minute per key."),
    "twofactor": ("Two-factor authentication", "Turn on two-factor authentication in the security tab."),
    "delete": ("Deleting an account", "Deleting an account removes all volumes and API keys permanently."),
}
QUERIES = {
    "q1": "how do I reset my password",
    "q2": "when do the nightly backups run",
    "q3": "what happens when an invoice is overdue",
    "q4": "how many API requests per minute are allowed",
    "q5": "how do I enable two-factor authentication",
    "q6": "how do I delete my account",
}
RELEVANT = {"q1": "pw", "q2": "backup", "q3": "billing", "q4": "ratelimit", "q5": "twofactor", "q6": "delete"}
# Every other document judged not relevant: judged negatives for every query.
QRELS = {qid: {doc: int(doc == rel) for doc in DOCS} for qid, rel in RELEVANT.items()}
# A support forum: each question has one answer ("Solved. ...") that shares few words with it, and two
# "bump" posts that repeat the question. Vector search ranks the bumps first; a cross-encoder that has seen
# a few (question, answer) and (question, bump) pairs learns to put the answer first, also for held-out
# questions: the cue it learns (an answer vs a bump) is the same for every question.
FORUM = "forum"
FORUM_TOPICS = {
    "pw": (
        "how do I reset my password",
        "Open the account settings page and pick the reset link that is emailed to you.",
    ),
    "backup": (
        "when do the nightly backups run",
        "Every volume is copied at two in the morning and snapshots are kept for thirty days.",
    ),
    "invoice": (
        "what happens when an invoice is overdue",
        "After fourteen days without payment the account is suspended until the bill is paid.",
    ),
    "rate": (
        "how many API requests per minute are allowed",
        "Each key may send one hundred calls every sixty seconds; more get status 429.",
    ),
    "twofa": (
        "how do I enable two-factor authentication",
        "In the security tab scan the QR code with an authenticator app and type the six digits.",
    ),
    "delete": (
        "how do I delete my account",
        "The owner types the account name to confirm; volumes and keys are then removed for good.",
    ),
    "region": (
        "which region should I choose for my server",
        "Pick the data centre closest to your users; Frankfurt and Virginia are the largest.",
    ),
    "dns": (
        "how do I point my domain at the server",
        "Create an A record with the server's public IP address at your registrar.",
    ),
    "ssh": (
        "how do I add an ssh key",
        "Paste the public key into the keys page; new servers get it in authorized_keys.",
    ),
}
FORUM_DOCS = {
    doc_id: text
    for topic, (question, answer) in FORUM_TOPICS.items()
    for doc_id, text in (
        (f"{topic}-answer", f"Solved. {answer}"),
        (f"{topic}-bump1", f"{question}? Same problem here, any update? Bump."),
        (f"{topic}-bump2", f"Also asking: {question}. Bump, still no reply."),
    )
}
FORUM_QRELS = {topic: {f"{topic}-answer": 1, f"{topic}-bump1": 0, f"{topic}-bump2": 0} for topic in FORUM_TOPICS}
FORUM_STEPS = 8
FAST = {"steps": 2, "batch_size": 4, "max_length": 48, "candidates": 5, "held_out": 0.34, "negatives_per_query": 3}


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    root = tmp_path_factory.mktemp("train")
    folder = root / COLLECTION
    folder.mkdir()
    with (folder / "corpus.jsonl").open("w", encoding="utf-8") as out:
        for doc_id, (title, text) in DOCS.items():
            out.write(json.dumps({"_id": doc_id, "title": title, "text": text}) + "\n")
    workspace = Workspace(Settings(data_dir=root / "store"))
    workspace.ingest([folder], COLLECTION, options=ChunkingOptions(max_tokens=64, overlap_tokens=0))
    workspace.golden.replace_set(COLLECTION, QUERIES, QRELS, level="doc")
    forum = root / FORUM
    forum.mkdir()
    with (forum / "corpus.jsonl").open("w", encoding="utf-8") as out:
        for doc_id, text in FORUM_DOCS.items():
            out.write(json.dumps({"_id": doc_id, "title": "", "text": text}) + "\n")
    workspace.ingest([forum], FORUM, options=ChunkingOptions(max_tokens=64, overlap_tokens=0))
    queries = {topic: question for topic, (question, _) in FORUM_TOPICS.items()}
    workspace.golden.replace_set(FORUM, queries, FORUM_QRELS, level="doc")
    return workspace


def check_card_against_evaluate(ws: Workspace, card: dict[str, Any], base_source: str | None) -> None:
    """The card's figures are what Evaluate measures on its held-out queries (vector top-N, reranked by the
    trained model and by the base), its baseline is the better of vector-only and the base reranker, and
    its delta, verdict and p-value follow from those per-query figures."""
    data, metrics = card["training_data"], card["metrics"]
    held = sorted(data["held_out_query_ids"])
    queries = ws.golden.queries(data["golden_set"])
    qrels = ws.golden.qrels(data["golden_set"], data["level"])
    held_set = f"held-out-{card['name']}"
    ws.golden.replace_set(held_set, {q: queries[q] for q in held}, {q: qrels[q] for q in held}, level=data["level"])

    def per_query(reranker: str) -> dict[str, list[float]]:
        config = EvalConfig(
            data["collection"],
            held_set,
            ("vector", "vector+rerank"),
            candidates=metrics["candidates"],
            reranker=reranker,
            level=data["level"],
        )
        result = evaluate(Workspace(ws.settings), config)
        return {p: [result.pipelines[p].per_query[q]["nDCG@10"] for q in held] for p in result.pipelines}

    measured = per_query(card["name"])  # the trained model, loaded by its registry name
    vector, trained = measured["vector"], measured["vector+rerank"]
    assert metrics["held_out_queries"] == len(held)
    assert metrics["vector_nDCG@10"] == round(fmean(vector), 4)
    assert metrics["trained_nDCG@10"] == round(fmean(trained), 4)
    candidates = {"vector-only": vector}
    if card["base_is_cross_encoder"]:
        assert base_source is not None
        candidates["base reranker"] = per_query(base_source)["vector+rerank"]
        assert metrics["base_nDCG@10"] == round(fmean(candidates["base reranker"]), 4)
    else:
        assert metrics["base_nDCG@10"] is None
    # The baseline is the better of the two (vector-only on a tie), and the card names it.
    label = "base reranker" if fmean(candidates.get("base reranker", [-1.0])) > fmean(vector) else "vector-only"
    baseline = candidates[label]
    assert (metrics["baseline"], metrics["baseline_nDCG@10"]) == (label, round(fmean(baseline), 4))
    delta = fmean(trained) - fmean(baseline)
    assert metrics["delta"] == pytest.approx(delta, abs=1e-4)
    assert card["verdict"] == ("better" if delta > 1e-9 else "worse" if delta < -1e-9 else "no better")
    p_value, ci_low, ci_high = paired_test(baseline, trained)
    assert metrics["p_value"] == (round(p_value, 4) if p_value is not None else None)
    assert metrics["ci95"] == [ci_low, ci_high]


def test_a_few_steps_give_a_loadable_model_a_card_and_a_better_verdict(
    ws: Workspace, test_cross_encoder_dir: Path
) -> None:
    """On the toy forum the bumps repeat each question, so vector search ranks them above the answer; a few
    BCE steps teach the model to tell answers from bumps, and it beats both vector-only and its base on
    the held-out questions: the card says "better", and Evaluate agrees with every figure on it."""
    config = TrainConfig(
        FORUM,
        FORUM,
        "tiny-ce",
        base=str(test_cross_encoder_dir),
        loss="bce",
        steps=FORUM_STEPS,
        batch_size=8,
        max_length=48,
        candidates=5,
        held_out=0.34,
        negatives_per_query=2,
        head_learning_rate=5e-3,
    )
    seen: list[str] = []
    result = train_reranker(ws, config, progress=lambda p: seen.append(p.phase))

    entry = ModelRegistry(ws.settings.data_dir).get("tiny-ce")
    assert entry.kind == "trained" and Path(entry.source).is_dir()
    card = entry.card
    assert card == json.loads((Path(entry.source) / "reranklens.json").read_text(encoding="utf-8"))
    assert card["base_model"] == str(test_cross_encoder_dir) and card["base_is_cross_encoder"]
    data = card["training_data"]
    assert (data["train_queries"], data["held_out_queries"]) == (6, 3)
    assert (data["positives"], data["negatives"]) == (6, 12) and not data["unjudged_negatives"]
    assert card["settings"]["steps"] == FORUM_STEPS and card["settings"]["max_length"] == 48
    metrics = card["metrics"]
    for key in ("vector_nDCG@10", "random_nDCG@10", "base_nDCG@10", "trained_nDCG@10", "baseline_nDCG@10"):
        assert 0.0 <= metrics[key] <= 1.0
    # Vector search puts a bump first for every held-out question, so it cannot reach 1.
    assert metrics["vector_nDCG@10"] < 1.0
    assert card["verdict"] == entry.verdict == "better"
    assert metrics["trained_nDCG@10"] > metrics["baseline_nDCG@10"] > 0.0
    check_card_against_evaluate(ws, card, str(test_cross_encoder_dir))
    assert result.losses and all(value > 0 for _, value in result.losses)
    assert {"mining", "baseline", "training", "evaluating", "done"} <= set(seen)
    readme = (Path(entry.source) / "README.md").read_text(encoding="utf-8")
    assert "Held-out evaluation" in readme and "Verdict: **better**" in readme and "did not beat" not in readme

    # Loadable by name, exactly as Explore and Evaluate load rerankers, and a "better" model may be the default.
    reranker = Workspace(ws.settings).reranker("tiny-ce")
    assert reranker.max_tokens == 48
    assert len(reranker.score(QUERIES["q1"], [DOCS["pw"][1], DOCS["backup"][1]])) == 2
    ModelRegistry(ws.settings.data_dir).set_default("tiny-ce")


def test_guard_marks_a_model_that_cannot_beat_vector_only(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Vector search already ranks every held-out answer first (nDCG@10 = 1), so no model can beat it:
    the CLI, from the packaged bi-encoder with a fresh head, must say so and the guard must hold."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # the default base falls back to the packaged MiniLM
    monkeypatch.setenv("RERANKLENS_DATA_DIR", str(ws.settings.data_dir))
    argv = ["train", "-g", COLLECTION, "--name", "tiny-loser", "--steps", "2", "--batch-size", "4"]
    argv += ["--max-length", "48", "-n", "5", "--held-out", "0.34", "--json"]
    assert main(argv) == 0
    card = json.loads(capsys.readouterr().out)
    assert card["base_model"] == "sentence-transformers/all-MiniLM-L6-v2" and not card["base_is_cross_encoder"]
    assert card["metrics"]["vector_nDCG@10"] == 1.0 and card["metrics"]["baseline"] == "vector-only"
    assert card["verdict"] in ("no better", "worse")
    check_card_against_evaluate(ws, card, None)

    registry = ModelRegistry(ws.settings.data_dir)
    assert registry.get("tiny-loser").verdict == card["verdict"]
    with pytest.raises(InvalidInputError, match="did not beat its baseline"):
        registry.set_default("tiny-loser")
    assert main(["models", "list"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if "tiny-loser" in line)
    assert card["verdict"] in row and not row.startswith("*")


def test_cancel_keeps_nothing(ws: Workspace, test_cross_encoder_dir: Path) -> None:
    cancel = threading.Event()
    cancel.set()
    config = TrainConfig(COLLECTION, COLLECTION, "cancelled", base=str(test_cross_encoder_dir), **FAST)
    with pytest.raises(TrainingCancelled):
        train_reranker(ws, config, cancel=cancel)
    assert "cancelled" not in ModelRegistry(ws.settings.data_dir).names()
    assert not (ws.settings.data_dir / "models" / "cancelled").exists()


def test_an_existing_name_needs_overwrite(ws: Workspace, test_cross_encoder_dir: Path) -> None:
    ModelRegistry(ws.settings.data_dir).add("taken", str(test_cross_encoder_dir))
    with pytest.raises(InvalidInputError, match="exists"):
        train_reranker(ws, TrainConfig(COLLECTION, COLLECTION, "taken", base=str(test_cross_encoder_dir), **FAST))


def test_no_negatives_says_how_to_get_some(ws: Workspace, test_cross_encoder_dir: Path) -> None:
    ws.golden.replace_set("positives-only", QUERIES, {qid: {doc: 1} for qid, doc in RELEVANT.items()})
    config = TrainConfig("positives-only", COLLECTION, "none", base=str(test_cross_encoder_dir), **FAST)
    with pytest.raises(InvalidInputError, match="--unjudged-negatives") as caught:
        train_reranker(ws, config)
    # the Models page shows the same problem with its own control's name, never a CLI flag
    page_message = getattr(caught.value, "page_message", "")
    assert "'Also use unjudged candidates as negatives'" in page_message and "--" not in page_message


def test_split_is_by_query_seeded_and_complete() -> None:
    ids = [f"q{i}" for i in range(30)]
    train, held = split_queries(ids, 1 / 3, seed=7)
    assert (len(train), len(held)) == (20, 10)
    assert set(train) | set(held) == set(ids) and not set(train) & set(held)
    assert split_queries(ids, 1 / 3, seed=7) == (train, held)
    assert split_queries(ids, 1 / 3, seed=8) != (train, held)
    with pytest.raises(InvalidInputError, match="at least 2 queries"):
        split_queries(["only"], 0.5, seed=1)


def test_datasets_have_the_columns_each_loss_reads() -> None:
    examples = [
        QueryExamples("a", "qa", (("pa", 2),), ("na1", "na2")),
        QueryExamples("b", "qb", (("pb", 1), ("pb2", 3)), ("nb1", "nb2", "nb3")),
    ]
    bce = build_dataset(examples, "bce", seed=1)
    assert bce.column_names == ["query", "passage", "label"] and len(bce) == 8
    assert sorted(bce["label"]) == [0.0] * 5 + [1.0] * 3
    mnrl = build_dataset(examples, "mnrl", seed=1)
    assert mnrl.column_names == ["query", "positive", "negative_1", "negative_2"] and len(mnrl) == 3
    listwise = build_dataset(examples, "listnet", seed=1)
    row = next(r for r in listwise if r["query"] == "qb")
    assert row["docs"] == ["pb", "pb2", "nb1", "nb2", "nb3"] and row["labels"] == [1.0, 3.0, 0.0, 0.0, 0.0]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"loss": "hinge"}, "Unknown loss"),
        ({"negatives_from": "sparse"}, "Unknown negative source"),
        ({"held_out": 1.0}, "between 0 and 1"),
        ({"steps": 0}, "at least 1"),
        ({"name": "a/b"}, "Invalid model name"),
    ],
)
def test_config_errors_say_what_to_fix(changes: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        TrainConfig(**{"golden_set": "g", "collection": "c", "name": "n", **changes})  # type: ignore[arg-type]
