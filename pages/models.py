"""Models: rerankers known by name, their held-out verdicts, and fine-tuning one from a golden set."""

import streamlit as st

from components.models.registry import (
    render_job,
    render_model_details,
    render_model_table,
    render_register_form,
    render_train_form,
    start_job,
)
from components.shared.frame import page_frame
from components.shared.jobs import render_job_list
from components.shared.resources import get_workspace, show_error
from reranklens.errors import RerankLensError
from reranklens.models.registry import ModelRegistry
from reranklens.views.render import markdown_escape

page_frame("models")

workspace = get_workspace()
registry = ModelRegistry(workspace.settings.data_dir)
try:
    names = render_model_table(registry)
    render_model_details(registry, names)
    collections = [info.name for info in workspace.collections()]
    sets = workspace.golden.names()
except RerankLensError as exc:
    show_error(exc)

with st.expander("Register a Hugging Face name or a local model directory"):
    render_register_form(registry)

st.subheader("Fine-tune a reranker")
st.caption(
    "Trains on the golden set's judgements with hard negatives from the first stage, evaluates base and "
    "trained model on held-out queries, and marks a model that does not beat its baseline."
)

if not collections or not sets:
    st.info("Training needs a collection and a golden set: ingest documents and label queries first.")
else:
    try:
        config = render_train_form(workspace, collections, sets)
        if config is not None:
            start_job(workspace, config)
    except RerankLensError as exc:
        st.error(markdown_escape(str(exc)), icon="⚠️")  # the job list below stays
    render_job(workspace.settings)
render_job_list(workspace.settings)
