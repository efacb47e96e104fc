"""A training run as the work of a server job (``reranklens.access.jobs``): it reports progress to the job
list and keeps the loss curve for the Models page.

The queue runs it in its own thread, so it outlives the browser tab that started it; cancelling the
job sets the event that ``train_reranker`` checks between steps and queries.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import plotly.graph_objects as go

from reranklens.train.trainer import Progress, TrainConfig, TrainResult, train_reranker
from reranklens.workspace import Workspace


@dataclass
class TrainingRun:
    """``train_reranker`` on ``workspace`` with ``config``, called by the job queue as ``run(cancel, report)``."""

    workspace: Workspace
    config: TrainConfig
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _losses: list[tuple[int, float]] = field(default_factory=list)

    def __call__(self, cancel: threading.Event, report: Callable[[int, int, str], None]) -> TrainResult:
        def on_progress(progress: Progress) -> None:
            with self._lock:
                if progress.phase == "training" and progress.loss is not None:
                    if not self._losses or self._losses[-1][0] != progress.done:
                        self._losses.append((progress.done, progress.loss))
            detail = f" · {progress.message}" if progress.message else ""
            report(progress.done, progress.total, progress.phase + detail)

        return train_reranker(self.workspace, self.config, progress=on_progress, cancel=cancel)

    def losses(self) -> tuple[tuple[int, float], ...]:
        with self._lock:
            return tuple(self._losses)


def loss_figure(
    losses: tuple[tuple[int, float], ...] | list[tuple[int, float]], title: str = "Training loss"
) -> go.Figure:
    """The loss curve: step on x, training loss on y (empty axes before the first log)."""
    steps = [step for step, _ in losses]
    values = [value for _, value in losses]
    figure = go.Figure(go.Scatter(x=steps, y=values, mode="lines+markers", name="loss"))
    figure.update_layout(title=title, xaxis_title="step", yaxis_title="loss", height=300, margin={"t": 40})
    return figure
