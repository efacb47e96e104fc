"""Widgets of the Models page: the registry table, a model's card, registering, and training with progress."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from components.identity import audit, require_role
from components.rerankers import reranker_options
from reranklens.access.limits import check_train_steps
from reranklens.config import Settings
from reranklens.errors import RerankLensError
from reranklens.models.registry import ModelRegistry
from reranklens.train.job import TrainingJob, loss_figure
from reranklens.train.trainer import LOSSES, NEGATIVE_SOURCES, TrainConfig
from reranklens.views.render import markdown_escape
from reranklens.workspace import Workspace

# Session-state keys of this page.
TRAIN_JOB = "models.train_job"
PICKED_MODEL = "models.picked"

VERDICT_ICONS = {"better": "✅ better", "no better": "⚠️ no better", "worse": "❌ worse", "untested": "—"}


def render_model_table(registry: ModelRegistry) -> list[str]:
    """Every named model with its verdict; returns the names."""
    entries = registry.entries()
    if not entries:
        st.info("No models yet: train one below, or register a Hub name or a local directory.")
        return []
    default = registry.default()
    rows = []
    for entry in entries:
        row = entry.summary()
        row["verdict"] = VERDICT_ICONS.get(entry.verdict, entry.verdict)
        row["default"] = "★" if entry.name == default else ""
        rows.append(row)
    frame = pd.DataFrame(rows).set_index("name")
    columns = ["default", "kind", "verdict", "trained_nDCG@10", "baseline", "baseline_nDCG@10", "base", "source"]
    st.dataframe(frame[columns], width="stretch")
    losers = [e.name for e in entries if e.kind == "trained" and e.verdict != "better"]
    if losers:
        st.warning(
            f"{', '.join(losers)}: did not beat the baseline on held-out queries. Kept for inspection, "
            "never made the default unless you force it.",
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
        readme = Path(entry.source) / "README.md"
        if readme.is_file():
            # The card quotes user text (set and collection names): shown literally, never as Markdown.
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


def render_train_form(workspace: Workspace, collections: list[str], sets: list[str]) -> TrainConfig | None:
    """The training settings; returns a config when the user starts a run."""
    defaults = TrainConfig("g", "c", "n")
    with st.form("train-model"):
        left, right = st.columns(2)
        golden = left.selectbox("Golden set", sets)
        collection = right.selectbox(
            "Collection", collections, index=collections.index(golden) if golden in collections else 0
        )
        name = left.text_input("Model name", value=f"{golden}-reranker")
        # Only models the server already offers: a typed path or Hub id would make it load anything.
        base = right.selectbox(
            "Base model",
            ["", *reranker_options(workspace.settings)],
            format_func=lambda option: option or "automatic (a cross-encoder if available, else MiniLM + fresh head)",
        )
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
    job = st.session_state.get(TRAIN_JOB)
    if job is not None and job.snapshot().state == "running":
        st.warning("A training run is already going: cancel it or wait for it to finish.")
        return
    require_role(workspace.settings, "admin", "Training a model")
    check_train_steps(config.steps, workspace.settings.max_train_steps)
    st.session_state[TRAIN_JOB] = TrainingJob(workspace, config).start()
    audit(workspace.settings.data_dir, "train", config.name, f"{config.steps} steps on {config.golden_set}")


@st.fragment(run_every=2.0)
def render_job() -> None:
    """Progress, loss curve and cancel button of this session's training run (polled every 2 s)."""
    job: TrainingJob | None = st.session_state.get(TRAIN_JOB)
    if job is None:
        return
    snap = job.snapshot()
    st.markdown(
        f"**Training {markdown_escape(job.config.name)}**: {snap.state}, {snap.phase} {markdown_escape(snap.message)}"
    )
    if snap.state == "running":
        st.progress(snap.fraction, text=f"{snap.phase}: {snap.done}/{snap.total}")
        if st.button("Cancel training"):
            job.cancel()
    if snap.losses:
        st.plotly_chart(loss_figure(snap.losses), width="stretch", key="live-loss")
    if snap.state == "failed":
        st.error(markdown_escape(snap.error))
    elif snap.state == "cancelled":
        st.info(markdown_escape(snap.error))
    elif snap.state == "done" and snap.result is not None:
        metrics = snap.result.card["metrics"]
        text = (
            f"Held-out nDCG@10: trained {metrics['trained_nDCG@10']:.4f} vs {metrics['baseline']} "
            f"{metrics['baseline_nDCG@10']:.4f} (vector-only {metrics['vector_nDCG@10']:.4f}, random "
            f"{metrics['random_nDCG@10']:.4f}). Verdict: {snap.result.entry.verdict}."
        )
        (st.success if snap.result.entry.verdict == "better" else st.warning)(text)
