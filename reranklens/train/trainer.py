"""Fine-tune a cross-encoder reranker from a golden set, and find out honestly whether it helps.

Pipeline (``train_reranker``):

1. split the golden set's queries (those with a relevant label) by query into train and held-out parts;
2. mine examples: positives are the judged-relevant chunks (for doc-level labels, the best-ranked chunk
   of each relevant document); hard negatives are first-stage candidates (vector, BM25 or hybrid top-N)
   judged non-relevant, and with ``unjudged_negatives`` also candidates nobody judged. The latter is a
   risk: collections are judged sparsely, so some "unjudged" candidates are relevant, and the model is
   taught to push them down;
3. train with sentence-transformers' ``CrossEncoderTrainer`` and one of its losses (BCE, MNRL, ListNet,
   LambdaLoss); the freshly initialised head (when the base is a bi-encoder) can get its own learning
   rate through ``learning_rate_mapping``;
4. evaluate on the held-out queries with the Evaluate machinery (``rerank`` + ``ranking_to_run`` +
   ``score_runs``): vector-only, a seeded random shuffle of the same candidates (the floor), the base
   reranker when it is a real cross-encoder, and the trained model loaded back from disk;
5. write the model card (``reranklens.json`` + ``README.md``) with a **verdict**: ``better`` only when
   the trained model's mean nDCG@10 beats its baseline (the better of vector-only and the base
   reranker). ``ModelRegistry.set_default`` refuses any other verdict unless forced.
"""

from __future__ import annotations

import json
import logging
import random
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from reranklens.config import DEFAULT_EMBEDDER, DEFAULT_RERANKER
from reranklens.errors import InvalidInputError, ModelUnavailableError, RerankLensError
from reranklens.evaluate.pipelines import MEASURES, ranking_to_run, score_runs
from reranklens.evaluate.significance import paired_test
from reranklens.golden.store import Level
from reranklens.models.hub import hub_reachable, local_model_path
from reranklens.models.registry import ModelEntry, ModelRegistry, check_model_name, now_iso
from reranklens.rerank.rerankers import CrossEncoderReranker, rerank
from reranklens.retrieve.search import MAX_QUERY_CHARS, check_candidates
from reranklens.types import Hit, SearchMode
from reranklens.workspace import Workspace

log = logging.getLogger(__name__)

LOSSES = ("bce", "mnrl", "listnet", "lambda")
NEGATIVE_SOURCES: tuple[SearchMode, ...] = ("vector", "bm25", "hybrid")
LossName = Literal["bce", "mnrl", "listnet", "lambda"]
METRIC = "nDCG@10"
# Parameters that a bi-encoder checkpoint does not train: BERT's pooler (the sentence-transformers
# bi-encoder mean-pools and never uses it) and the fresh classification head.
HEAD_PATTERN = r"classifier|pooler"
# Tried in order when no base is named: a trained cross-encoder (the normal start on a connected
# machine), then the packaged bi-encoder with a fresh head (works offline).
FALLBACK_BASES = (DEFAULT_RERANKER, DEFAULT_EMBEDDER)


class TrainingCancelled(RerankLensError):
    """The user stopped a training run; nothing was saved."""


@dataclass(frozen=True)
class TrainConfig:
    """What to train, from what, and how. Defaults are the measured CPU choices (docs/finetuning.md)."""

    golden_set: str
    collection: str
    name: str
    base: str | None = None
    loss: LossName = "mnrl"
    steps: int = 300
    batch_size: int = 4
    learning_rate: float = 4e-5
    head_learning_rate: float | None = 1e-3
    max_length: int = 128
    negatives_from: SearchMode = "vector"
    negatives_per_query: int = 3
    unjudged_negatives: bool = False
    held_out: float = 1 / 3
    candidates: int = 50
    seed: int = 13
    warmup_ratio: float = 0.1

    def __post_init__(self) -> None:
        check_model_name(self.name)
        if self.loss not in LOSSES:
            raise InvalidInputError(f"Unknown loss '{self.loss}': choose one of {', '.join(LOSSES)}.")
        if self.negatives_from not in NEGATIVE_SOURCES:
            raise InvalidInputError(
                f"Unknown negative source '{self.negatives_from}': choose one of {', '.join(NEGATIVE_SOURCES)}."
            )
        if not 0.0 < self.held_out < 1.0:
            raise InvalidInputError(
                f"--held-out must be between 0 and 1 (a share of the queries), got {self.held_out}."
            )
        for label, value in (("steps", self.steps), ("batch size", self.batch_size), ("max length", self.max_length)):
            if value < 1:
                raise InvalidInputError(f"The {label} must be at least 1, got {value}.")
        if self.negatives_per_query < 1:
            raise InvalidInputError("--negatives must be at least 1: a reranker learns from what is not relevant.")
        if self.learning_rate <= 0 or (self.head_learning_rate is not None and self.head_learning_rate <= 0):
            raise InvalidInputError("Learning rates must be positive.")
        check_candidates(self.candidates)


class TrainingInputError(InvalidInputError):
    """A training request that cannot work as given. ``message`` holds ``{hint}`` where the way forward
    differs by front end: the CLI's text names its flags (``str(exc)``), ``page_message`` the page's controls."""

    def __init__(self, message: str, *, cli: str = "", page: str = "") -> None:
        super().__init__(message.replace("{hint}", cli))  # not str.format: the message quotes user names
        self.page_message = message.replace("{hint}", page)


@dataclass(frozen=True)
class Progress:
    """One report from a training run: ``phase`` is mining, baseline, training, evaluating or done."""

    phase: str
    done: int
    total: int
    loss: float | None = None
    message: str = ""


ProgressCallback = Callable[[Progress], None]


@dataclass(frozen=True)
class QueryExamples:
    """A training query's positives (text, grade) and hard negatives (hardest first)."""

    query_id: str
    query: str
    positives: tuple[tuple[str, int], ...]
    negatives: tuple[str, ...]


@dataclass(frozen=True)
class TrainResult:
    entry: ModelEntry
    card: dict[str, Any]
    losses: list[tuple[int, float]] = field(default_factory=list)


def split_queries(query_ids: Sequence[str], held_out: float, seed: int) -> tuple[list[str], list[str]]:
    """A seeded split by query: (train, held-out), each non-empty, disjoint, together all ids."""
    ids = sorted(query_ids)
    if len(ids) < 2:
        raise InvalidInputError(
            f"Training needs at least 2 queries with a relevant label (one to train on, one to test on); "
            f"the golden set has {len(ids)}. Label more queries first."
        )
    random.Random(seed).shuffle(ids)
    n_held = min(len(ids) - 1, max(1, round(len(ids) * held_out)))
    return sorted(ids[n_held:]), sorted(ids[:n_held])


def golden_level(workspace: Workspace, golden_set: str) -> tuple[Level, dict[str, dict[str, int]]]:
    """The level the Evaluate page would score at ("chunk" when there are chunk labels) and its qrels."""
    chunk = workspace.golden.qrels(golden_set, "chunk")
    if any(any(g > 0 for g in targets.values()) for targets in chunk.values()):
        return "chunk", chunk
    return "doc", workspace.golden.qrels(golden_set, "doc")


def _key(hit: Hit, level: Level) -> str:
    return hit.chunk.chunk_id if level == "chunk" else hit.chunk.doc_id


def mine_examples(
    workspace: Workspace,
    config: TrainConfig,
    query_ids: Sequence[str],
    queries: dict[str, str],
    qrels: dict[str, dict[str, int]],
    level: Level,
) -> list[QueryExamples]:
    """Positives and hard negatives for each training query, from ``config.negatives_from`` candidates."""
    fallback: dict[str, str] | None = None
    examples: list[QueryExamples] = []
    for qid in query_ids:
        judged = qrels.get(qid, {})
        hits = workspace.search(queries[qid], config.collection, config.negatives_from, config.candidates).hits
        positives: dict[str, tuple[str, int]] = {}
        negatives: list[str] = []
        for hit in hits:
            key = _key(hit, level)
            grade = judged.get(key)
            if grade is not None and grade > 0:
                positives.setdefault(key, (hit.chunk.passage, grade))
            elif (grade == 0 or (grade is None and config.unjudged_negatives)) and hit.chunk.passage not in negatives:
                negatives.append(hit.chunk.passage)
        missing = [key for key, grade in judged.items() if grade > 0 and key not in positives]
        if missing:
            if fallback is None:
                fallback = _first_passages(workspace, config.collection, level)
            for key in missing:
                if key in fallback:
                    positives[key] = (fallback[key], judged[key])
        if positives and negatives:
            examples.append(
                QueryExamples(
                    qid, queries[qid], tuple(positives.values()), tuple(negatives[: config.negatives_per_query])
                )
            )
    if not examples:
        unjudged = not config.unjudged_negatives
        raise TrainingInputError(
            f"No training query has both a relevant and a non-relevant candidate in the {config.negatives_from} "
            f"top-{config.candidates}: judge some candidates as not relevant (grade 0) on the Label page{{hint}}.",
            cli=" or pass --unjudged-negatives (see its risk in --help)" if unjudged else "",
            page=" or tick 'Also use unjudged candidates as negatives'" if unjudged else "",
        )
    return examples


def _first_passages(workspace: Workspace, collection: str, level: Level) -> dict[str, str]:
    """Each document's first chunk (doc level) or each chunk (chunk level): positives outside the top-N."""
    passages: dict[str, tuple[int, str]] = {}
    for chunk in workspace.store.all_chunks(collection).chunks:
        key = chunk.chunk_id if level == "chunk" else chunk.doc_id
        if key not in passages or chunk.position < passages[key][0]:
            passages[key] = (chunk.position, chunk.passage)
    return {key: text for key, (_, text) in passages.items()}


def build_dataset(examples: Sequence[QueryExamples], loss: LossName, seed: int) -> Any:
    """The ``datasets.Dataset`` each loss expects (column order matters to sentence-transformers):

    - bce: (query, passage, label) with label 1.0 for positives and 0.0 for negatives;
    - mnrl: (query, positive, negative_1..negative_k), no label; short negative lists repeat;
    - listnet / lambda: (query, docs, labels) with one list per query (grades as labels).
    """
    from datasets import Dataset

    if loss == "bce":
        rows: dict[str, list[Any]] = {"query": [], "passage": [], "label": []}
        for ex in examples:
            for text, _ in ex.positives:
                rows["query"].append(ex.query)
                rows["passage"].append(text)
                rows["label"].append(1.0)
            for text in ex.negatives:
                rows["query"].append(ex.query)
                rows["passage"].append(text)
                rows["label"].append(0.0)
    elif loss == "mnrl":
        k = min(len(ex.negatives) for ex in examples)
        rows = {"query": [], "positive": [], **{f"negative_{i + 1}": [] for i in range(k)}}
        for ex in examples:
            for text, _ in ex.positives:
                rows["query"].append(ex.query)
                rows["positive"].append(text)
                for i in range(k):
                    rows[f"negative_{i + 1}"].append(ex.negatives[i])
    else:
        rows = {"query": [], "docs": [], "labels": []}
        for ex in examples:
            rows["query"].append(ex.query)
            rows["docs"].append([text for text, _ in ex.positives] + list(ex.negatives))
            rows["labels"].append([float(grade) for _, grade in ex.positives] + [0.0] * len(ex.negatives))
    return Dataset.from_dict(rows).shuffle(seed=seed)


def make_loss(model: Any, loss: LossName) -> Any:
    from sentence_transformers.cross_encoder import losses

    if loss == "bce":
        return losses.BinaryCrossEntropyLoss(model)
    if loss == "mnrl":
        # Few in-batch negatives: each one is another forward pass per pair on a CPU.
        return losses.MultipleNegativesRankingLoss(model, num_negatives=2)
    if loss == "listnet":
        return losses.ListNetLoss(model)
    return losses.LambdaLoss(model)


def is_cross_encoder(source: str) -> bool:
    """Whether ``source`` (a directory) holds a trained one-label sequence-classification model."""
    path = Path(source) / "config.json"
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    architectures = config.get("architectures") or []
    labels = len(config.get("id2label") or {"0": ""})
    return any(str(a).endswith("ForSequenceClassification") for a in architectures) and labels == 1


def choose_base(workspace: Workspace, base: str | None) -> tuple[str, str]:
    """(name, what to load) of the base model: the one asked for, else the first of ``FALLBACK_BASES``
    on disk (or downloadable). A registry name resolves to its directory."""
    registry = ModelRegistry(workspace.settings.data_dir)
    asked = [base] if base else list(FALLBACK_BASES)
    for name in asked:
        source = registry.resolve(name)
        local = local_model_path(source)
        if local:
            return name, local
        if not Path(source).expanduser().is_absolute() and hub_reachable():
            return name, source
    tried = ", ".join(asked)
    raise ModelUnavailableError(
        f"No base model could be found ({tried}): the Hub is unreachable and none is on disk. Pass --base with a "
        "local model directory (a cross-encoder, or a BERT-style bi-encoder such as all-MiniLM-L6-v2)."
    )


@dataclass
class HeldOutEvaluation:
    """nDCG@10 (and the other Evaluate measures) on the held-out queries, per pipeline."""

    qrels: dict[str, dict[str, int]]
    level: Level
    hits: dict[str, tuple[Hit, ...]]
    queries: dict[str, str]
    per_query: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)

    def add_ranking(self, label: str, rankings: dict[str, Sequence[Hit]]) -> float:
        runs = {qid: ranking_to_run(hits, self.level) for qid, hits in rankings.items()}
        self.per_query[label] = score_runs(self.qrels, runs)
        return self.mean(label)

    def mean(self, label: str, metric: str = METRIC) -> float:
        values = self.per_query[label]
        return float(np.mean([values[qid][metric] for qid in self.qrels]))

    def means(self, label: str) -> dict[str, float]:
        return {metric: round(self.mean(label, metric), 4) for metric in MEASURES}

    def values(self, label: str) -> list[float]:
        return [self.per_query[label][qid][METRIC] for qid in sorted(self.qrels)]


def evaluate_reranker(
    evaluation: HeldOutEvaluation,
    label: str,
    reranker: CrossEncoderReranker,
    cancel: threading.Event | None,
    progress: ProgressCallback | None,
) -> float:
    rankings: dict[str, list[Hit]] = {}
    total = len(evaluation.hits)
    for done, (qid, hits) in enumerate(evaluation.hits.items()):
        _check_cancel(cancel)
        rankings[qid] = [r.hit for r in rerank(reranker, evaluation.queries[qid], hits).hits]
        if progress:
            progress(Progress("evaluating", done + 1, total, message=f"held-out queries, {label}"))
    return evaluation.add_ranking(label, rankings)


def _check_cancel(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise TrainingCancelled("Training was cancelled; nothing was saved.")


def _trainer_callback(
    total: int, progress: ProgressCallback | None, cancel: threading.Event | None, losses: list[tuple[int, float]]
) -> Any:
    from transformers import TrainerCallback

    class _Callback(TrainerCallback):  # type: ignore[misc]
        def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, float] | None = None, **kw: Any) -> None:
            if logs and "loss" in logs:
                losses.append((int(state.global_step), float(logs["loss"])))

        def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            if progress:
                last = losses[-1][1] if losses else None
                progress(Progress("training", int(state.global_step), total, last))
            if cancel is not None and cancel.is_set():
                control.should_training_stop = True

    return _Callback()


def train_reranker(
    workspace: Workspace,
    config: TrainConfig,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    overwrite: bool = False,
) -> TrainResult:
    """Train ``config.name`` and register it with its card and verdict. Raises ``TrainingCancelled``
    when ``cancel`` is set (nothing is kept) and ``InvalidInputError`` for unusable golden sets."""
    import torch
    from sentence_transformers import CrossEncoder
    from sentence_transformers.cross_encoder import CrossEncoderTrainer, CrossEncoderTrainingArguments
    from transformers import PrinterCallback

    started = time.perf_counter()
    registry = ModelRegistry(workspace.settings.data_dir)
    target = registry.model_dir(config.name)
    if config.name in registry.names() and not overwrite:
        raise TrainingInputError(
            f"A model named '{config.name}' exists: pick another name{{hint}}.",
            cli=" or pass --overwrite",
            page=" under 'Model name' (or remove the old one with 'Remove' above)",
        )
    if config.golden_set not in workspace.golden.names():
        raise InvalidInputError(f"No golden set named '{config.golden_set}': see `reranklens golden list`.")
    workspace.store.collection(config.collection)  # unknown collection -> clear error before any work

    level, qrels_all = golden_level(workspace, config.golden_set)
    # Golden sets imported from IR collections hold a few very long queries (CISI: 2,084 characters); search
    # refuses those, and the models read only their first few hundred tokens anyway, so cut them there.
    queries = {qid: text.strip()[:MAX_QUERY_CHARS] for qid, text in workspace.golden.queries(config.golden_set).items()}
    usable = [qid for qid, t in qrels_all.items() if qid in queries and any(g > 0 for g in t.values())]
    train_ids, held_ids = split_queries(usable, config.held_out, config.seed)

    base_name, base_source = choose_base(workspace, config.base)
    base_is_ce = is_cross_encoder(base_source)

    def report(phase: str, done: int, total: int, message: str = "") -> None:
        if progress:
            progress(Progress(phase, done, total, message=message))

    report("mining", 0, len(train_ids), f"{config.negatives_from} candidates of {len(train_ids)} training queries")
    examples = mine_examples(workspace, config, train_ids, queries, qrels_all, level)
    dataset = build_dataset(examples, config.loss, config.seed)

    held_qrels = {qid: {k: g for k, g in qrels_all[qid].items()} for qid in held_ids}
    held_hits = {
        qid: workspace.search(queries[qid], config.collection, "vector", config.candidates).hits for qid in held_ids
    }
    evaluation = HeldOutEvaluation(held_qrels, level, held_hits, {qid: queries[qid] for qid in held_ids})
    evaluation.add_ranking("vector", held_hits)
    rng = random.Random(config.seed)
    evaluation.add_ranking("random", {qid: rng.sample(list(h), len(h)) for qid, h in held_hits.items()})
    if base_is_ce:
        report("baseline", 0, len(held_ids), f"base reranker {base_name} on held-out queries")
        evaluate_reranker(evaluation, "base", CrossEncoderReranker(base_source), cancel, progress)

    _check_cancel(cancel)
    torch.manual_seed(config.seed)
    model = CrossEncoder(base_source, num_labels=1, max_length=config.max_length, device="cpu")
    losses: list[tuple[int, float]] = []
    with tempfile.TemporaryDirectory(prefix="reranklens-train-") as scratch:
        args = CrossEncoderTrainingArguments(
            output_dir=scratch,
            max_steps=config.steps,
            per_device_train_batch_size=config.batch_size,
            learning_rate=config.learning_rate,
            learning_rate_mapping={HEAD_PATTERN: config.head_learning_rate} if config.head_learning_rate else {},
            warmup_ratio=config.warmup_ratio,
            logging_steps=max(1, config.steps // 50),
            save_strategy="no",
            report_to="none",
            use_cpu=True,
            seed=config.seed,
            data_seed=config.seed,
            dataloader_num_workers=0,
            disable_tqdm=True,
        )
        trainer = CrossEncoderTrainer(
            model=model,
            args=args,
            train_dataset=dataset,
            loss=make_loss(model, config.loss),
            callbacks=[_trainer_callback(config.steps, progress, cancel, losses)],
        )
        # Our callback reports progress; transformers' printer would write log dicts to stdout (the CLI's JSON).
        trainer.remove_callback(PrinterCallback)
        train_started = time.perf_counter()
        trainer.train()
        train_s = time.perf_counter() - train_started
    _check_cancel(cancel)

    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    try:
        model.save_pretrained(str(target))
        trained = CrossEncoderReranker(str(target))  # loaded back exactly as Explore/Evaluate will load it
        evaluate_reranker(evaluation, "trained", trained, cancel, progress)
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise

    card = _card(config, base_name, base_is_ce, level, train_ids, held_ids, examples, evaluation, losses, train_s)
    card["wall_s"] = round(time.perf_counter() - started, 1)
    entry = registry.write_trained(config.name, card, model_readme(config.name, card))
    report("done", 1, 1, f"verdict: {entry.verdict}")
    return TrainResult(entry, card, losses)


def _card(
    config: TrainConfig,
    base_name: str,
    base_is_ce: bool,
    level: Level,
    train_ids: list[str],
    held_ids: list[str],
    examples: list[QueryExamples],
    evaluation: HeldOutEvaluation,
    losses: list[tuple[int, float]],
    train_s: float,
) -> dict[str, Any]:
    vector = evaluation.mean("vector")
    base = evaluation.mean("base") if base_is_ce else None
    trained = evaluation.mean("trained")
    if base is not None and base > vector:
        baseline_label, baseline = "base reranker", base
        baseline_values = evaluation.values("base")
    else:
        baseline_label, baseline = "vector-only", vector
        baseline_values = evaluation.values("vector")
    delta = trained - baseline
    verdict = "better" if delta > 1e-9 else ("worse" if delta < -1e-9 else "no better")
    p_value, ci_low, ci_high = paired_test(baseline_values, evaluation.values("trained"))
    metrics: dict[str, Any] = {
        "metric": METRIC,
        "held_out_queries": len(held_ids),
        "candidates": config.candidates,
        "vector_nDCG@10": round(vector, 4),
        "random_nDCG@10": round(evaluation.mean("random"), 4),
        "base_nDCG@10": round(base, 4) if base is not None else None,
        "trained_nDCG@10": round(trained, 4),
        "baseline": baseline_label,
        "baseline_nDCG@10": round(baseline, 4),
        "delta": round(delta, 4),
        "relative_gain": round(delta / baseline, 4) if baseline else None,
        "p_value": round(p_value, 4) if p_value is not None else None,
        "ci95": [ci_low, ci_high],
        "all": {label: evaluation.means(label) for label in evaluation.per_query},
    }
    settings = asdict(config)
    settings.pop("name")
    return {
        "name": config.name,
        "created": now_iso(),
        "base_model": base_name,
        "base_is_cross_encoder": base_is_ce,
        "training_data": {
            "golden_set": config.golden_set,
            "collection": config.collection,
            "level": level,
            "train_queries": len(train_ids),
            "held_out_queries": len(held_ids),
            "held_out_query_ids": held_ids,
            "training_queries_with_examples": len(examples),
            "positives": sum(len(ex.positives) for ex in examples),
            "negatives": sum(len(ex.negatives) for ex in examples),
            "negatives_from": config.negatives_from,
            "unjudged_negatives": config.unjudged_negatives,
        },
        "settings": settings,
        "metrics": metrics,
        "verdict": verdict,
        "train_s": round(train_s, 1),
        "loss_curve": [[step, round(value, 5)] for step, value in losses],
    }


def _code_span(value: str) -> str:
    return f"`{value}`"


def model_readme(name: str, card: dict[str, Any], literal: Callable[[str], str] | None = None) -> str:
    """The human-readable model card written next to the weights.

    ``literal`` quotes the user-supplied values (model, golden set, collection and base model names); the
    file puts them in code spans, a page passes its Markdown escaping so they show as typed. Raises
    ``KeyError`` for a card without the training fields.
    """
    quote = literal or _code_span
    title = name if literal is None else literal(name)
    m, data, s = card["metrics"], card["training_data"], card["settings"]
    base_line = f"| base reranker ({card['base_model']}) | {m['base_nDCG@10']:.4f} |\n" if m.get("base_nDCG@10") else ""
    warning = (
        ""
        if card["verdict"] == "better"
        else f"\n**This model did not beat its baseline ({m['baseline']}) on its held-out queries: do not use it "
        "as your reranker.** RerankLens never makes it the default.\n"
    )
    risk = (
        "Unjudged candidates were used as negatives: some of them are probably relevant, and the model was taught "
        "to rank them lower.\n\n"
        if data["unjudged_negatives"]
        else ""
    )
    return (
        f"# {title}\n\nA cross-encoder reranker fine-tuned in RerankLens on {card['created']}.\n{warning}\n"
        f"- base model: {quote(card['base_model'])}"
        f"{' (a trained cross-encoder)' if card['base_is_cross_encoder'] else ' (a bi-encoder: fresh head)'}\n"
        f"- training data: golden set {quote(data['golden_set'])} on collection {quote(data['collection'])} "
        f"({data['level']}-level labels), {data['train_queries']} training / {data['held_out_queries']} "
        "held-out queries (split by query), "
        f"{data['positives']} positives, {data['negatives']} hard negatives from {data['negatives_from']} top-"
        f"{s['candidates']}\n"
        f"- settings: loss {s['loss']}, {s['steps']} steps, batch {s['batch_size']}, lr {s['learning_rate']}, "
        f"head lr {s['head_learning_rate']}, max length {s['max_length']}, seed {s['seed']}; trained in "
        f"{card['train_s']} s\n\n{risk}"
        f"## Held-out evaluation (reranking the vector top-{m['candidates']}, {m['metric']})\n\n"
        f"| ranking | {m['metric']} |\n|---|---|\n"
        f"| vector-only | {m['vector_nDCG@10']:.4f} |\n| random shuffle of the top-{m['candidates']} | "
        f"{m['random_nDCG@10']:.4f} |\n{base_line}| **trained** | **{m['trained_nDCG@10']:.4f}** |\n\n"
        f"Verdict: **{card['verdict']}** than the baseline ({m['baseline']}, {m['baseline_nDCG@10']:.4f}): "
        f"delta {m['delta']:+.4f}, paired randomization p = {m['p_value']}.\n"
    )
