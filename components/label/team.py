"""The Label page's team panel: agreement between the people labeling the set, its consensus rule and blind
switch, and the disagreements (chunks whose labelers are two grades apart or more) with an adjudicate control.

Choosing the rule, switching blind labeling and deciding a final grade are an admin's: they change the grade
the whole team's set is scored with. In a blind set a labeler sees a disagreement only on chunks they graded.
"""

from __future__ import annotations

import hashlib

import pandas as pd
import streamlit as st

from components.shared import keys
from components.shared.identity import has_role, require_role
from components.shared.labeler_agreement import render_labeler_agreement
from reranklens.config import Settings
from reranklens.errors import RerankLensError
from reranklens.golden.agreement import Disagreement, disagreements
from reranklens.golden.store import CONSENSUS_RULES, GoldenStore
from reranklens.types import Chunk
from reranklens.views.render import markdown_escape
from reranklens.workspace import Workspace

RULE_HELP = {
    "median": "median: the middle grade (a tie between two rounds half up)",
    "mean": "mean: the average, rounded half up",
    "max": "max: the highest grade anyone gave",
    "latest": "latest: the most recent grade",
}


def render_team_panel(workspace: Workspace, golden_set: str, collection: str, who: str) -> None:
    golden = workspace.golden
    if golden_set not in golden.names():
        return
    admin = has_role(workspace.settings, "admin")
    people = golden.person_judgements(golden_set)
    found = disagreements(people)
    if golden.is_blind(golden_set) and not admin:
        mine = {(j.query_id, j.level, j.target_id) for j in people if j.who == who}
        found = [d for d in found if (d.query_id, d.level, d.target_id) in mine]
    labelers = len({j.who for j in people})
    with st.expander(f"Team: {labelers} labeler(s), agreement and consensus rule"):
        render_labeler_agreement(golden, golden_set)
        _render_set_options(golden, golden_set, admin)
    if found:  # a person labeling alone never sees an empty list
        with st.expander(f"Disagreements ({len(found)})"):
            _render_disagreements(workspace, golden_set, collection, found, admin, who)


def _render_set_options(golden: GoldenStore, golden_set: str, admin: bool) -> None:
    rule_col, blind_col = st.columns(2)
    st.session_state[keys.LABEL_RULE] = golden.consensus_rule(golden_set)
    rule_col.selectbox(
        "Consensus rule (the grade the set uses)",
        CONSENSUS_RULES,
        key=keys.LABEL_RULE,
        format_func=RULE_HELP.get,
        disabled=not admin,
        on_change=_save_options,
        args=(golden, golden_set),
        help="An adjudicated grade wins over the rule. Only admins change it.",
    )
    st.session_state[keys.LABEL_BLIND] = golden.is_blind(golden_set)
    blind_col.toggle(
        "Blind labeling",
        key=keys.LABEL_BLIND,
        disabled=not admin,
        on_change=_save_options,
        args=(golden, golden_set),
        help="A labeler sees other people's grades for a chunk only after grading it. Only admins switch it.",
    )


def _save_options(golden: GoldenStore, golden_set: str) -> None:
    try:
        require_role(Settings.from_env(), "admin", "Changing a golden set's consensus rule or blind labeling")
        golden.set_consensus_rule(golden_set, str(st.session_state[keys.LABEL_RULE]))
        golden.set_blind(golden_set, bool(st.session_state[keys.LABEL_BLIND]))
    except RerankLensError as exc:
        st.session_state[keys.LABEL_ERROR] = str(exc)


def _render_disagreements(
    workspace: Workspace, golden_set: str, collection: str, found: list[Disagreement], admin: bool, who: str
) -> None:
    golden = workspace.golden
    texts = golden.queries(golden_set)
    chunks = _chunks(workspace, collection, [d.target_id for d in found if d.level == "chunk"])
    decided = {(a.query_id, a.level, a.target_id): a for a in golden.adjudications(golden_set)}
    for item in found:
        st.markdown(f"**{markdown_escape(texts.get(item.query_id, item.query_id))}**")
        chunk = chunks.get(item.target_id)
        where = f"{chunk.doc_id} · {chunk.heading}" if chunk and chunk.heading else (chunk.doc_id if chunk else "")
        st.caption(markdown_escape(f"{item.level} {item.target_id} {where}".strip()))
        if chunk is not None:
            st.text(chunk.text[:400] + ("…" if len(chunk.text) > 400 else ""))
        # Names and notes are people's free text: plain dataframe cells.
        table = [
            {"labeler": j.who or "(unnamed)", "grade": j.grade, "note": j.note, "when": j.updated_at}
            for j in item.judgements
        ]
        st.dataframe(pd.DataFrame(table), hide_index=True, width="stretch")
        decision = decided.get((item.query_id, item.level, item.target_id))
        if decision is not None:
            st.caption(
                f"Decided: grade {decision.grade} by {markdown_escape(decision.who or '(unnamed)')} "
                f"at {markdown_escape(decision.decided_at)}"
            )
        if admin:
            key = _adjudicate_key(golden_set, item)
            st.session_state[key] = decision.grade if decision else None
            st.segmented_control(
                "Final grade",
                [0, 1, 2, 3],
                key=key,
                on_change=_adjudicate,
                args=(golden, golden_set, item, who, key),
                help="Records the grade the set uses for this chunk, with your name and the time.",
            )
        elif decision is None:
            st.caption("An admin decides the final grade.")
        st.divider()


def _adjudicate(golden: GoldenStore, golden_set: str, item: Disagreement, who: str, key: str) -> None:
    grade = st.session_state.get(key)
    try:
        require_role(Settings.from_env(), "admin", "Deciding a final grade")
        if grade is None:
            golden.clear_adjudication(golden_set, item.query_id, item.level, item.target_id)
        else:
            golden.adjudicate(golden_set, item.query_id, item.level, item.target_id, int(grade), who=who)
    except RerankLensError as exc:
        st.session_state[keys.LABEL_ERROR] = str(exc)


def _adjudicate_key(golden_set: str, item: Disagreement) -> str:
    digest = hashlib.sha1(f"{golden_set}\x1f{item.query_id}\x1f{item.level}".encode()).hexdigest()[:10]
    return f"{keys.ADJUDICATE}|{digest}|{item.target_id}"


def _chunks(workspace: Workspace, collection: str, ids: list[str]) -> dict[str, Chunk]:
    """The disagreed chunks' text from the collection on screen (none for a collection that is not ours)."""
    try:
        return workspace.store.chunks_by_id(collection, ids) if collection in workspace.store.names() else {}
    except RerankLensError:
        return {}
