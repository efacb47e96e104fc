"""An evaluation as one self-contained file for the people who decide whether to ship a reranker.

HTML or Markdown: the settings (collection, golden set, N, models, date, machine), the mean of each figure
per pipeline, the paired tests (mean change with its 95 % bootstrap CI, randomization p, wins/losses/ties)
from ``reranklens.evaluate.significance``, latency against quality, and the queries that changed most (up
to 10 wins and 10 losses) with their top-3 before and after, grades and source.

The HTML fetches nothing (a Content-Security-Policy forbids it, the chart is inline SVG drawn here: plotly's
static export needs kaleido and its HTML needs a script), escapes every text that came from data (queries,
ids, names), and has print styles. The Markdown is short enough for a pull-request comment.
"""

from __future__ import annotations

import html
import os
import platform
from dataclasses import dataclass
from datetime import UTC, datetime

from reranklens.errors import InvalidInputError
from reranklens.evaluate.pipelines import EvalResult
from reranklens.evaluate.significance import PairedComparison, QueryDelta, compare_pipelines
from reranklens.views.judged import FIGURES
from reranklens.views.report import markdown_line

CHANGED = 10  # wins and losses listed, each
TOP = 3
REPORT_RESAMPLES = 2_000  # enough for a report's CIs; the page's comparison uses the library default


@dataclass(frozen=True)
class ChangedQuery:
    delta: QueryDelta
    before: list[tuple[str, int | None]]  # (id, grade) of the baseline's top-3
    after: list[tuple[str, int | None]]


@dataclass(frozen=True)
class ReportData:
    result: EvalResult
    settings: dict[str, str]
    comparisons: list[PairedComparison]  # every pipeline against the first, on every figure
    headline: PairedComparison | None  # the first reranked pipeline against the first, on nDCG@10
    wins: list[ChangedQuery]
    losses: list[ChangedQuery]


def report_data(result: EvalResult, qrels: dict[str, dict[str, int]], generated: datetime | None = None) -> ReportData:
    """What a report shows. ``qrels``: the golden set's grades at ``result.level`` (for the top-3 lists).
    A run with no query is refused (``InvalidInputError``)."""
    if not result.queries or not result.pipelines:
        raise InvalidInputError("This run scored no query: there is nothing to report.")
    names = list(result.pipelines)
    baseline = names[0]
    comparisons = [
        compare_pipelines(result, baseline, name, metric, REPORT_RESAMPLES) for name in names[1:] for metric in FIGURES
    ]
    candidate = next((n for n in names[1:] if "rerank" in n), names[1] if len(names) > 1 else None)
    headline = next((c for c in comparisons if c.candidate == candidate and c.metric == "nDCG@10"), None)
    wins: list[ChangedQuery] = []
    losses: list[ChangedQuery] = []
    if headline is not None and candidate is not None:
        for delta in headline.deltas:
            grades = qrels.get(delta.query_id, {})
            changed = ChangedQuery(
                delta,
                [(i, grades.get(i)) for i in result.pipelines[baseline].rankings.get(delta.query_id, [])[:TOP]],
                [(i, grades.get(i)) for i in result.pipelines[candidate].rankings.get(delta.query_id, [])[:TOP]],
            )
            if delta.outcome == "win" and len(wins) < CHANGED:
                wins.append(changed)
            elif delta.outcome == "loss" and len(losses) < CHANGED:
                losses.append(changed)
    models = ", ".join(dict.fromkeys(p.reranker for p in result.pipelines.values() if p.reranker)) or "none"
    settings = {
        "Collection": result.config.collection + (" (trace set)" if result.config.traces else ""),
        "Golden set": result.config.golden_set,
        "Queries": str(len(result.queries)),
        "Scored at": f"{result.level} level",
        "Candidates (N)": "as logged" if result.config.traces else str(result.config.candidates),
        "Rerankers": models,
        "Date": (generated or datetime.now(UTC)).isoformat(timespec="seconds"),
        "Machine": f"{platform.node()} · {platform.platform()} · {os.cpu_count()} CPUs",
    }
    return ReportData(result, settings, comparisons, headline, wins, losses)


def _p(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _ci(c: PairedComparison) -> str:
    return "n/a" if c.ci_low is None or c.ci_high is None else f"[{c.ci_low:+.3f}, {c.ci_high:+.3f}]"


def _top(items: list[tuple[str, int | None]]) -> str:
    return ", ".join(f"{i} ({'unjudged' if g is None else f'grade {g}'})" for i, g in items) or "not kept"


def markdown_evaluation(data: ReportData) -> str:
    """The report for a pull-request comment: settings, figures, tests, the biggest wins and losses."""
    result = data.result
    lines = ["## RerankLens evaluation", ""]
    lines += [f"- {name}: {markdown_line(value)}" for name, value in data.settings.items()]
    lines += ["", "| pipeline | " + " | ".join(FIGURES) + " | p50 ms |", "|---|" + "---:|" * (len(FIGURES) + 1)]
    for name, p in result.pipelines.items():
        values = " | ".join(f"{p.mean[m]:.3f}" for m in FIGURES)
        lines.append(f"| {markdown_line(name)} | {values} | {p.latency_ms['total']['p50']:.1f} |")
    if data.comparisons:
        lines += ["", "| vs first | metric | mean Δ | 95 % CI | p | wins/losses/ties |", "|---|---|---:|---|---:|---|"]
        for c in data.comparisons:
            lines.append(
                f"| {markdown_line(c.candidate)} | {c.metric} | {c.mean_delta:+.3f} | {_ci(c)} | {_p(c.p_value)} "
                f"| {c.wins}/{c.losses}/{c.ties} |"
            )
    for title, changed in (("Biggest wins", data.wins), ("Biggest losses", data.losses)):
        if changed:
            lines += ["", f"**{title}** (nDCG@10)", ""]
            for q in changed:
                lines.append(
                    f"- {markdown_line(q.delta.query)}: {q.delta.baseline:.3f} → {q.delta.candidate:.3f}; "
                    f"before {markdown_line(_top(q.before))}; after {markdown_line(_top(q.after))}"
                )
    return "\n".join(lines) + "\n"


def latency_quality_svg(result: EvalResult, metric: str = "nDCG@10", width: int = 520, height: int = 300) -> str:
    """p50 latency (x) against ``metric`` (y), one labelled point per pipeline, as inline SVG."""
    points = [(n, p.latency_ms["total"]["p50"], p.mean[metric]) for n, p in result.pipelines.items()]
    left, right, top, bottom = 60, 150, 20, 40
    xmax = max(x for _, x, _ in points) * 1.1 or 1.0
    plot_w, plot_h = width - left - right, height - top - bottom

    def sx(x: float) -> float:
        return left + plot_w * x / xmax

    def sy(y: float) -> float:
        return top + plot_h * (1 - y)

    marks = "".join(
        f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="5" fill="#1565c0"/>'
        f'<text x="{sx(x) + 8:.1f}" y="{sy(y) + 4:.1f}" font-size="11">{html.escape(name)} ({y:.3f}, {x:.0f} ms)</text>'
        for name, x, y in points
    )
    ticks = "".join(
        f'<text x="{left - 8}" y="{sy(v) + 4:.1f}" font-size="10" text-anchor="end">{v:.1f}</text>'
        for v in (0.0, 0.5, 1.0)
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="{metric} against p50 latency">'
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#555"/>'
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#555"/>{ticks}'
        f'<text x="{left + plot_w / 2}" y="{height - 8}" font-size="11" text-anchor="middle">'
        f"p50 latency per query (ms, 0 to {xmax:.0f})</text>"
        f'<text x="14" y="{top + plot_h / 2}" font-size="11" transform="rotate(-90 14 {top + plot_h / 2})" '
        f'text-anchor="middle">{html.escape(metric)}</text>{marks}</svg>'
    )


def html_evaluation(data: ReportData) -> str:
    """The report as one HTML file: no script, nothing fetched, every data text escaped, legible in print."""
    esc = html.escape
    result = data.result
    settings = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in data.settings.items())
    head = "".join(f"<th>{esc(m)}</th>" for m in FIGURES)
    rows = "".join(
        f"<tr><td>{esc(name)}</td>"
        + "".join(f"<td>{p.mean[m]:.3f}</td>" for m in FIGURES)
        + f"<td>{p.latency_ms['total']['p50']:.1f}</td></tr>"
        for name, p in result.pipelines.items()
    )
    tests = "".join(
        f"<tr><td>{esc(c.candidate)}</td><td>{esc(c.metric)}</td><td>{c.mean_delta:+.3f}</td><td>{_ci(c)}</td>"
        f"<td>{_p(c.p_value)}</td><td>{c.wins}/{c.losses}/{c.ties}</td></tr>"
        for c in data.comparisons
    )
    tests_html = (
        f"<h2>Paired tests against {esc(next(iter(result.pipelines)))}</h2><table><tr><th>pipeline</th><th>metric</th>"
        f"<th>mean Δ</th><th>95 % CI</th><th>p (randomization)</th><th>wins/losses/ties</th></tr>{tests}</table>"
        if tests
        else ""
    )
    changed = ""
    for title, items in (("Biggest wins", data.wins), ("Biggest losses", data.losses)):
        if items:
            changed += f"<h2>{title} (nDCG@10)</h2><table><tr><th>query</th><th>before → after</th>"
            changed += "<th>top-3 before</th><th>top-3 after</th></tr>"
            changed += "".join(
                f"<tr><td>{esc(q.delta.query)}</td><td>{q.delta.baseline:.3f} → {q.delta.candidate:.3f}</td>"
                f"<td>{esc(_top(q.before))}</td><td>{esc(_top(q.after))}</td></tr>"
                for q in items
            )
            changed += "</table>"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>RerankLens evaluation: {esc(result.config.golden_set)}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2rem;color:#111}} table{{border-collapse:collapse;margin:.5rem 0}}
th,td{{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}}
@media print{{body{{margin:0;font-size:10pt}} table,svg{{page-break-inside:avoid}} th{{background:#eee}}}}</style>
</head><body>
<h1>RerankLens evaluation</h1>
<table>{settings}</table>
<h2>Metrics (mean over queries)</h2>
<table><tr><th>pipeline</th>{head}<th>p50 ms</th></tr>{rows}</table>
{tests_html}
<h2>Latency vs quality</h2>
{latency_quality_svg(result)}
{changed}
</body></html>
"""


def report_format(path: str) -> str:
    """``html`` or ``md`` from ``path``'s extension; another one is refused in one line."""
    suffix = path.lower().rsplit(".", 1)[-1] if "." in path else ""
    if suffix in ("html", "htm"):
        return "html"
    if suffix == "md":
        return "md"
    raise InvalidInputError(f"A report is .html or .md, got '{path}'.")


def write_report(data: ReportData, path: str) -> str:
    """The report's text for ``path``'s extension (``.html``/``.htm`` or ``.md``)."""
    return html_evaluation(data) if report_format(path) == "html" else markdown_evaluation(data)
