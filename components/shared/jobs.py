"""The server's one job queue (training, evaluations, sweeps) and its list with Cancel buttons.

The queue lives in ``st.cache_resource``: one per server process, shared by every session, and its records in
the database (reranklens.access.jobs), so a second tab, a reload, another app process on the same database or
a restarted server sees (and can cancel) a job another one started. Every visitor sees every job's name and
owner; a user may cancel their own jobs, an admin anyone's (without sign-in everyone is an admin).

Starting one is guarded, so one visitor cannot fill the queue: with sign-in, viewers start none; a session
has one job queued or running at a time; a user at most ``RERANKLENS_MAX_JOBS_PER_USER``.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from components.shared import keys
from components.shared.identity import current_role, current_user, require_role
from reranklens.access.jobs import JOBS_FILE, JobError, JobInfo, JobKind, JobQueue, Work
from reranklens.config import Settings
from reranklens.errors import RerankLensError
from reranklens.views.render import markdown_escape

SHOWN_JOBS = 10
POLL_S = 0.25
COLUMNS = [3, 1.2, 3, 2.6, 1.8, 1.6]  # job, kind, owner, state, started, cancel: one line each at 1500 px
STATE_ICONS = {
    "queued": "⏳ queued",
    "running": "▶️ running",
    "done": "✅ done",
    "cancelled": "⏹️ cancelled",
    "failed": "❌ failed",
    "lost": "💀 lost",
}


@st.cache_resource(show_spinner=False)
def _queue(max_running: int, max_per_user: int, path: Path) -> JobQueue:
    return JobQueue(max_running, max_per_user=max_per_user, path=path)


def server_jobs(settings: Settings) -> JobQueue:
    """This server's job queue (``RERANKLENS_MAX_JOBS`` run at once across the processes on its database, the
    others wait)."""
    return _queue(settings.max_jobs, settings.max_jobs_per_user, settings.data_dir / JOBS_FILE)


def submit(settings: Settings, kind: JobKind, name: str, work: Work) -> int:
    """Queue ``work`` as this session's user; returns the job id. Refused in one line (``RoleRequiredError``,
    ``JobError``) for a viewer when sign-in is on, while this session's last job is still queued or running,
    and over the per-user cap. ``work`` runs with this run's paid-call guard (see ``JobQueue.submit``)."""
    require_role(settings, "labeler", "Running jobs on this server")
    queue = server_jobs(settings)
    known = []
    for job_id in st.session_state.get(keys.SESSION_JOBS, []):
        try:
            info = queue.get(job_id)
        except RerankLensError:  # forgotten by the queue: long over
            continue
        if info.active:
            raise JobError(
                f"Your job '{info.name}' is still {info.state}: wait for it to end or cancel it, then start another."
            )
        known.append(job_id)
    job_id = queue.submit(kind, name, current_user(), work)
    st.session_state[keys.SESSION_JOBS] = [*known, job_id]
    return job_id


def follow(settings: Settings, key: str, what: str, noun: str) -> JobInfo | None:
    """The job whose id this session keeps under ``key``, once it has ended (None when there is none):
    until then this script run waits with a progress bar ("{what}: ...") and a "Cancel {noun}" button.
    A click elsewhere on the page stops the waiting, not the job, and the next run waits again, so no
    result is lost."""
    job_id = st.session_state.get(key)
    if job_id is None:
        return None
    queue = server_jobs(settings)
    try:
        info = queue.get(job_id)
    except RerankLensError:  # forgotten by the queue (a restart): nothing to wait for
        st.session_state.pop(key, None)
        return None
    cancel_slot = st.empty()  # emptied when the job ends: a finished job shows no Cancel button
    if info.active and cancel_slot.button(f"Cancel {noun}", key=f"{key}.cancel"):
        info = queue.cancel(job_id, current_user(), any_owner=current_role(settings) == "admin")
    bar = st.progress(0.0, text=f"{what}…")
    while info.active:
        if info.state == "queued":
            ahead = sum(job.active and job.id < job_id for job in queue.jobs())
            text = f"{what}: waiting for {ahead} job(s) ahead of it (Jobs on this server, below)"
        else:
            text = f"{what}: {info.message or 'starting'} {info.done}/{info.total}"
        bar.progress(info.fraction, text=text)
        info = queue.wait(job_id, POLL_S)
    bar.empty()
    cancel_slot.empty()
    st.session_state.pop(key, None)
    return info


def state_label(info: JobInfo) -> str:
    """ "▶️ running 12/300", "⏹️ cancelled": the state, with the progress while it runs."""
    label = STATE_ICONS[info.state]
    if info.cancel_requested and info.active:
        label += " (cancelling)"
    elif info.state == "running" and info.total:
        label += f" {info.done}/{info.total}"
    return label


@st.fragment(run_every=2.0)
def render_job_list(settings: Settings) -> None:
    """Jobs on this server, newest first, each with a Cancel button while it is queued or running
    (polled every 2 s so a job cancelled in another tab shows it here too)."""
    queue = server_jobs(settings)
    jobs = queue.jobs()[:SHOWN_JOBS]
    st.subheader("Jobs on this server")
    if not jobs:
        st.caption(f"No training or evaluation yet. At most {queue.max_running} run at once; the others wait here.")
        return
    st.caption(f"At most {queue.max_running} run at once; the others wait. Everyone on this server sees this list.")
    if error := st.session_state.pop(keys.JOBS_ERROR, None):
        st.error(markdown_escape(error), icon="⚠️")
    for column, title in zip(st.columns(COLUMNS), ("Job", "Kind", "Owner", "State", "Started (UTC)", ""), strict=True):
        column.caption(title)
    for info in jobs:
        name, kind, owner, state, started, action = st.columns(COLUMNS, vertical_alignment="center")
        name.markdown(f"**{markdown_escape(info.name)}**")
        kind.markdown(info.kind)
        owner.markdown(markdown_escape(info.owner))
        state.markdown(state_label(info))
        started.markdown(info.started[5:16].replace("T", " ") if info.started else "—")  # "11-30 23:42"
        if info.active:
            action.button(
                "Cancel",
                key=f"jobs.cancel.{info.id}",
                disabled=info.cancel_requested,
                on_click=_cancel,
                args=(settings, info.id),
            )


def _cancel(settings: Settings, job_id: int) -> None:
    """The Cancel button's callback: runs before the list is drawn again, so the list shows its effect."""
    try:
        server_jobs(settings).cancel(job_id, current_user(), any_owner=current_role(settings) == "admin")
    except RerankLensError as exc:
        st.session_state[keys.JOBS_ERROR] = str(exc)
