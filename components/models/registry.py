"""Widgets of the Models page: the registry table, a model's card, registering, and training with progress."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from components.shared.identity import audit, require_role
from components.shared.jobs import server_jobs, submit
from components.shared.reranker_picker import reranker_label, reranker_options
from reranklens.access.jobs import JobInfo
from reranklens.access.limits import check_train_steps
from reranklens.config import Settings
from reranklens.errors import RerankLensError
from reranklens.models.registry import ModelRegistry
from reranklens.rerank.rerankers import HTTP_PREFIX
from reranklens.train.job import TrainingRun, loss_figure
from reranklens.train.trainer import LOSSES, NEGATIVE_SOURCES, TrainConfig, TrainResult, golden_level, model_readme
from reranklens.views.render import markdown_escape
from reranklens.workspace import Workspace

# Session-state keys of this page.
TRAIN_JOB = "models.train_job"  # the id of this session's training job in the server's queue
TRAIN_RUN = "models.train_run"  # its work, which keeps the loss curve
TRAIN_SHOWN_END = "models.train_shown_end"  # the job whose end has refreshed the page
TRAIN_SET = "models.train_set"
PICKED_MODEL = "models.picked"

VERDICT_ICONS = {"better": "✅ better", "no better": "⚠️ no better", "worse": "❌ worse", "untested": "—"}


TABLE_COLUMNS = {
    "default": "Default",
    "kind": "Kind",
    "verdict": "Held-out verdict",
    "trained_nDCG@10": "Trained nDCG@10",
    "baseline": "Baseline",
    "baseline_nDCG@10": "Baseline nDCG@10",
    "base": "Base model",
    "source": "Loads from",
}


def model_rows(registry: ModelRegistry) -> pd.DataFrame:
    """The registry as the page shows it: human column names, scores to 4 places, "—" for what is not known."""
    default = registry.default()
    rows = []
    for entry in registry.entries():
        row = entry.summary()
        row["verdict"] = VERDICT_ICONS.get(entry.verdict, entry.verdict)
        row["default"] = "★" if entry.name == default else ""
        for score in ("trained_nDCG@10", "baseline_nDCG@10"):
            row[score] = "—" if row[score] is None else f"{float(row[score]):.4f}"
        rows.append({"Model": row["name"], **{label: row[key] or "—" for key, label in TABLE_COLUMNS.items()}})
    frame = pd.DataFrame(rows, columns=["Model", *TABLE_COLUMNS.values()]).set_index("Model")
    frame["Default"] = frame["Default"].replace("—", "")
    return frame


def render_model_table(registry: ModelRegistry) -> list[str]:
    """Every named model with its verdict; returns the names."""
    entries = registry.entries()
    if not entries:
        st.info("No models yet: train one below, or register a Hub name or a local directory.")
        return []
    st.dataframe(model_rows(registry), width="stretch")
    losers = [e.name for e in entries if e.kind == "trained" and e.verdict != "better"]
    if losers:
        st.warning(
            f"{markdown_escape(', '.join(losers))}: did not beat the baseline on held-out queries. Kept for "
            "inspection, never made the default unless you force it.",
            icon="⚠️",
        )
    return [entry.name for entry in entries]


def render_model_details(registry: ModelRegistry, names: list[str]) -> None:
    """One model's card with the default / remove actions."""
    if not names:
        return
    name = st.selectbox("Model", names, key=PICKED_MODEL)
    entry = registry.get(name)
    if entry.kind == "trained":
        try:
            # Formatted, with the user-supplied names escaped so they show exactly as typed.
            st.markdown(model_readme(name, entry.card, literal=markdown_escape))
        except KeyError:  # a card from an older version without every training field: its file, literally
            readme = Path(entry.source) / "README.md"
            if readme.is_file():
                st.code(readme.read_text(encoding="utf-8"), language="markdown", wrap_lines=True)
        if entry.card.get("loss_curve"):
            curve = [(int(s), float(v)) for s, v in entry.card["loss_curve"]]
            st.plotly_chart(loss_figure(curve, f"Training loss of {name}"), width="stretch")
    else:
        st.markdown(f"Registered {entry.added}: loads {markdown_escape(entry.source)}.")
    left, right = st.columns(2)
    force = False
    if not entry.usable_as_default:
        force = left.checkbox("I know it lost to its baseline: make it the default anyway")
    if left.button("Make default in the pickers", disabled=not (entry.usable_as_default or force)):
        try:
            require_role(Settings.from_env(), "admin", "Changing the default reranker")
            registry.set_default(name, force=force)
            audit(registry.root.parent, "set default", name, "forced" if force else "")
            st.success(f"'{markdown_escape(name)}' is now offered first in the reranker pickers.")
        except RerankLensError as exc:
            st.error(markdown_escape(str(exc)))
    if right.button("Remove", help="a trained model's directory is deleted; a registered name is forgotten"):
        try:
            require_role(Settings.from_env(), "admin", "Removing a model")
        except RerankLensError as exc:
            st.error(markdown_escape(str(exc)))
            return
        registry.remove(name)
        audit(registry.root.parent, "remove model", name, entry.kind)
        st.rerun()


def render_register_form(registry: ModelRegistry) -> None:
    with st.form("register-model"):
        name = st.text_input("Name", placeholder="my-reranker")
        source = st.text_input("Hugging Face name or local directory", placeholder="/models/ms-marco-MiniLM-L-6-v2")
        if st.form_submit_button("Register"):
            try:
                require_role(Settings.from_env(), "admin", "Adding a model")
                entry = registry.add(name, source)
                audit(registry.root.parent, "add model", entry.name, entry.source)
                st.rerun()
            except RerankLensError as exc:
                st.error(markdown_escape(str(exc)))


def has_judged_negatives(workspace: Workspace, golden_set: str) -> bool:
    """Whether the set holds grade-0 labels at the level training uses (the demo set has none)."""
    _, qrels = golden_level(workspace, golden_set)
    return any(grade == 0 for targets in qrels.values() for grade in targets.values())


def free_model_name(registry: ModelRegistry, golden_set: str) -> str:
    """``<set>-reranker``, numbered when that name is taken, so training twice with the defaults works."""
    stem = "".join(c if c.isalnum() or c in "._-" else "-" for c in golden_set).strip("-._")[:50] or "model"
    taken = set(registry.names())
    name, number = f"{stem}-reranker", 2
    while name in taken:
        name, number = f"{stem}-reranker-{number}", number + 1
    return name


def render_train_form(workspace: Workspace, collections: list[str], sets: list[str]) -> TrainConfig | None:
    """The training settings; returns a config when the user starts a run. The defaults follow the chosen
    golden set, so training with them works (on the bundled demo too)."""
    defaults = TrainConfig("g", "c", "n")
    golden = st.selectbox("Golden set", sets, key=TRAIN_SET)
    negatives_judged = has_judged_negatives(workspace, golden)
    if not negatives_judged:
        st.caption(
            "This set has no chunk or document graded 0 (not relevant), so the candidates nobody judged are used "
            "as negatives: the box below is ticked."
        )
    with st.form("train-model"):
        left, right = st.columns(2)
        collection = left.selectbox(
            "Collection", collections, index=collections.index(golden) if golden in collections else 0
        )
        name = right.text_input("Model name", value=free_model_name(ModelRegistry(workspace.settings.data_dir), golden))
        # Only models the server already offers (a typed path or Hub id would make it load anything), those
        # that can load here first and the others marked; a hosted /rerank API cannot be fine-tuned.
        label = reranker_label(workspace.settings)
        base = st.selectbox(
            "Base model",
            ["", *(option for option in reranker_options(workspace.settings) if not option.startswith(HTTP_PREFIX))],
            format_func=lambda option: (
                label(option)
                or "automatic (a cross-encoder if available, else the packaged all-MiniLM-L6-v2 with a fresh head)"
            ),
        )
        left, right = st.columns(2)
        loss = left.selectbox("Loss", LOSSES, index=LOSSES.index(defaults.loss))
        cap = workspace.settings.max_train_steps
        steps = right.number_input("Steps", 1, cap, min(defaults.steps, cap), help=f"At most {cap} on this server.")
        lr = left.number_input("Learning rate (encoder)", 1e-7, 1e-2, defaults.learning_rate, format="%.1e")
        head_lr = right.number_input(
            "Learning rate (head)", 1e-7, 1e-1, defaults.head_learning_rate or defaults.learning_rate, format="%.1e"
        )
        max_length = left.select_slider("Max tokens per pair", [64, 128, 256, 512], defaults.max_length)
        negatives_from = right.selectbox("Negatives from", NEGATIVE_SOURCES)
        unjudged = st.checkbox(
            "Also use unjudged candidates as negatives",
            value=not negatives_judged,
            help="Risk: relevant chunks nobody judged are taught as not relevant. Needed when the set has few "
            "grade-0 labels.",
        )
        held_out = st.slider("Held-out share of queries", 0.1, 0.5, round(defaults.held_out, 2))
        start = st.form_submit_button("Train", type="primary")
    if not start:
        return None
    if unjudged:
        st.caption("Unjudged candidates are used as negatives: some may be relevant.")
    return TrainConfig(
        golden_set=golden,
        collection=collection,
        name=name,
        base=base.strip() or None,
        loss=loss,
        steps=int(steps),
        learning_rate=float(lr),
        head_learning_rate=float(head_lr),
        max_length=int(max_length),
        negatives_from=negatives_from,
        unjudged_negatives=unjudged,
        held_out=float(held_out),
    )


def start_job(workspace: Workspace, config: TrainConfig) -> None:
    """Queue the run on the server's job queue (it outlives this tab; every tab lists it)."""
    settings = workspace.settings
    job_id = st.session_state.get(TRAIN_JOB)
    current = None if job_id is None else _job(settings, job_id)
    if current is not None and current.active:
        st.warning("Your training run is still going: cancel it in the list below or wait for it to finish.")
        return
    require_role(settings, "admin", "Training a model")
    check_train_steps(config.steps, settings.max_train_steps)
    run = TrainingRun(workspace, config)
    st.session_state[TRAIN_JOB] = submit(settings, "train", config.name, run)
    st.session_state[TRAIN_RUN] = run
    audit(settings.data_dir, "train", config.name, f"{config.steps} steps on {config.golden_set}")


def _job(settings: Settings, job_id: int) -> JobInfo | None:
    """This session's job, or None once the queue has forgotten it."""
    try:
        return server_jobs(settings).get(job_id)
    except RerankLensError:
        return None


def status_line(name: str, info: JobInfo) -> str:
    """One line on the run, each fact once: "Training x: training 12/300", "Training x finished: worse"."""
    title = f"**Training {markdown_escape(name)}**"
    if info.state == "running":
        return f"{title}: {markdown_escape(info.message or 'starting')} ({info.done}/{info.total})"
    if info.state == "queued":
        return f"{title}: waiting in the queue (Jobs on this server, below)."
    result = info.result
    if info.state == "done" and isinstance(result, TrainResult):
        return f"{title} finished: held-out verdict **{result.entry.verdict}**."
    return f"{title} {info.state}."


@st.fragment(run_every=2.0)
def render_job(settings: Settings) -> None:
    """Progress and loss curve of this session's training run (polled every 2 s; cancel it in the job
    list). When the run ends the whole page reruns once, so the models table above lists the new model
    without a reload."""
    job_id, run = st.session_state.get(TRAIN_JOB), st.session_state.get(TRAIN_RUN)
    info = None if job_id is None else _job(settings, job_id)
    if info is None or not isinstance(run, TrainingRun):
        return
    if not info.active and st.session_state.get(TRAIN_SHOWN_END) != job_id:
        st.session_state[TRAIN_SHOWN_END] = job_id
        st.rerun(scope="app")
    st.markdown(status_line(run.config.name, info))
    if info.state == "running":
        st.progress(info.fraction, text=f"{info.message}: {info.done}/{info.total}")
    if losses := run.losses():
        st.plotly_chart(loss_figure(losses), width="stretch", key="live-loss")
    result = info.result
    if info.state == "failed":
        st.error(markdown_escape(info.error), icon="⚠️")
    elif info.state == "cancelled":
        st.info(markdown_escape(info.error))
    elif info.state == "done" and isinstance(result, TrainResult):
        metrics = result.card["metrics"]
        text = (
            f"Held-out nDCG@10: trained {metrics['trained_nDCG@10']:.4f} vs {metrics['baseline']} "
            f"{metrics['baseline_nDCG@10']:.4f} (vector-only {metrics['vector_nDCG@10']:.4f}, random "
            f"{metrics['random_nDCG@10']:.4f}). Verdict: {result.entry.verdict}."
        )
        (st.success if result.entry.verdict == "better" else st.warning)(text)
