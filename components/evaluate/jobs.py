"""Evaluations and latency sweeps as jobs on the server's queue, so at most ``RERANKLENS_MAX_JOBS`` run
at once and each one is listed, and can be cancelled between queries, from any tab.

An evaluation's job saves its run itself: a result is never lost to a click that stops the page waiting.
"""

from __future__ import annotations

import threading
from dataclasses import replace

import streamlit as st

from components.shared import keys
from components.shared.jobs import follow, submit
from reranklens.access.jobs import JobError, Report
from reranklens.evaluate import charts as eval_charts
from reranklens.evaluate.pipelines import EvalConfig, EvalResult, evaluate
from reranklens.evaluate.runs import RunStore
from reranklens.workspace import Workspace


def _name(config: EvalConfig) -> str:
    return f"{config.golden_set} on {config.collection} (N={config.candidates})"


def start_evaluation(workspace: Workspace, config: EvalConfig, runs: RunStore, label: str) -> None:
    """Queue the evaluation of ``config``; the job saves the run under ``label`` when it ends. Its LLM
    requests count for the user who started it (the job runs with this run's paid-call guard)."""

    def work(cancel: threading.Event, report: Report) -> tuple[EvalResult, int]:
        result = evaluate(workspace, config, report, cancel)
        return result, runs.save(result.to_json(), label)

    st.session_state[keys.EVAL_JOB] = submit(workspace.settings, "evaluate", _name(config), work)


def finish_evaluation(workspace: Workspace) -> None:
    """Wait for this session's evaluation, then show it (a cancelled one says so; a failed one raises)."""
    info = follow(workspace.settings, keys.EVAL_JOB, "Evaluating", "the evaluation")
    if info is None:
        return
    if info.state == "cancelled":
        st.info(info.error, icon="⏹️")
    elif info.state != "done" or not isinstance(info.result, tuple):
        raise JobError(info.error)
    else:
        st.session_state[keys.EVAL_RESULT], st.session_state[keys.EVAL_RUN_ID] = info.result
        st.session_state.pop(keys.EVAL_SWEEP, None)


def start_sweep(workspace: Workspace, config: EvalConfig, candidates: list[int]) -> None:
    """Queue one job that evaluates ``config`` again at each N of ``candidates``."""

    def work(cancel: threading.Event, report: Report) -> dict[int, EvalResult]:
        swept = {}
        for n in candidates:
            at_n = replace(config, candidates=n)
            swept[n] = evaluate(workspace, at_n, lambda d, t, p, n=n: report(d, t, f"N={n} · {p}"), cancel)
        return swept

    name = f"sweep of {config.golden_set} on {config.collection}"
    st.session_state[keys.EVAL_SWEEP_JOB] = submit(workspace.settings, "evaluate", name, work)


def finish_sweep(workspace: Workspace, result: EvalResult, sweep_key: str) -> None:
    """Wait for this session's sweep, then keep its chart points (under ``sweep_key``) with the result."""
    info = follow(workspace.settings, keys.EVAL_SWEEP_JOB, "Sweeping", "the sweep")
    if info is None:
        return
    if info.state == "cancelled":
        st.info(info.error, icon="⏹️")
    elif info.state != "done" or not isinstance(info.result, dict):
        raise JobError(info.error)
    else:
        st.session_state[sweep_key] = sweep_points(result, info.result)


def sweep_points(result: EvalResult, swept: dict[int, EvalResult]) -> list[eval_charts.SweepPoint]:
    """p50 total latency and nDCG@10 of every pipeline at every N; the shown result stands for its own N,
    so the chart and the tables above agree there."""
    by_n = {**swept, result.config.candidates: result}
    return [
        eval_charts.SweepPoint(name, n, p.latency_ms["total"]["p50"], p.mean["nDCG@10"])
        for n, run in sorted(by_n.items())
        for name, p in run.pipelines.items()
    ]
