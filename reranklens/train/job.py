"""A training run in a background thread, so a page can show progress, a loss curve and a cancel button.

The Streamlit script reruns on every click; the job object survives in session state and the page polls
``snapshot()``. Cancelling sets an event that ``train_reranker`` checks between steps and queries.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Literal

import plotly.graph_objects as go

from reranklens.errors import RerankLensError
from reranklens.train.trainer import Progress, TrainConfig, TrainingCancelled, TrainResult, train_reranker
from reranklens.workspace import Workspace

log = logging.getLogger(__name__)
JobState = Literal["running", "done", "cancelled", "failed"]


@dataclass(frozen=True)
class JobSnapshot:
    state: JobState
    phase: str
    done: int
    total: int
    message: str
    losses: tuple[tuple[int, float], ...] = ()
    result: TrainResult | None = None
    error: str = ""

    @property
    def fraction(self) -> float:
        return min(1.0, self.done / self.total) if self.total else 0.0


@dataclass
class TrainingJob:
    """One training run of ``config`` on ``workspace``; ``start()`` returns at once."""

    workspace: Workspace
    config: TrainConfig
    _cancel: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _progress: Progress = field(default_factory=lambda: Progress("starting", 0, 1))
    _losses: list[tuple[int, float]] = field(default_factory=list)
    _state: JobState = "running"
    _result: TrainResult | None = None
    _error: str = ""
    _thread: threading.Thread | None = None

    def start(self) -> TrainingJob:
        self._thread = threading.Thread(target=self._run, name=f"train-{self.config.name}", daemon=True)
        self._thread.start()
        return self

    def _on_progress(self, progress: Progress) -> None:
        with self._lock:
            self._progress = progress
            if progress.phase == "training" and progress.loss is not None:
                if not self._losses or self._losses[-1][0] != progress.done:
                    self._losses.append((progress.done, progress.loss))

    def _run(self) -> None:
        try:
            result = train_reranker(self.workspace, self.config, progress=self._on_progress, cancel=self._cancel)
        except TrainingCancelled:
            state: JobState = "cancelled"
            result, error = None, "Training was cancelled; nothing was saved."
        except RerankLensError as exc:
            # The job serves the Models page: its errors name the page's controls, not CLI flags.
            state, result, error = "failed", None, getattr(exc, "page_message", str(exc))
        except Exception as exc:  # noqa: BLE001 - a page must show the failure, not lose the thread silently
            log.exception("training %s failed", self.config.name)
            state, result, error = "failed", None, f"{type(exc).__name__}: {exc}"
        else:
            state, error = "done", ""
        with self._lock:
            self._state, self._result, self._error = state, result, error

    def cancel(self) -> None:
        self._cancel.set()

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def snapshot(self) -> JobSnapshot:
        with self._lock:
            p = self._progress
            return JobSnapshot(
                self._state, p.phase, p.done, p.total, p.message, tuple(self._losses), self._result, self._error
            )


def loss_figure(
    losses: tuple[tuple[int, float], ...] | list[tuple[int, float]], title: str = "Training loss"
) -> go.Figure:
    """The loss curve: step on x, training loss on y (empty axes before the first log)."""
    steps = [step for step, _ in losses]
    values = [value for _, value in losses]
    figure = go.Figure(go.Scatter(x=steps, y=values, mode="lines+markers", name="loss"))
    figure.update_layout(title=title, xaxis_title="step", yaxis_title="loss", height=300, margin={"t": 40})
    return figure
