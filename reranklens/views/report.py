"""Exports of an Explore view: CSV rows, and self-contained Markdown / HTML reports for stakeholders.

Document text is untrusted in every format: HTML-escaped in the HTML report. In the Markdown report
only what a viewer would act on is escaped, so the file still reads as plain text ("v2.4", "a > b"):
``<`` becomes ``&lt;`` (no raw HTML), an ``&`` that would start an entity becomes ``&amp;``, the
characters of emphasis, code, links, images, tables, strike-through and maths get a backslash, and
autolinks (``www.``, ``scheme://``, e-mail addresses) are broken with a zero-width space, so no viewer
turns a chunk into a link, an image or script.
"""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import UTC, datetime
from typing import Any

from reranklens.golden.formats import csv_cell
from reranklens.views.explore import ExploreView, latency_summary
from reranklens.views.judged import FIGURES, JudgedView
from reranklens.views.render import break_autolinks, column_html

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|~$])")
_ENTITY_START = re.compile(r"&(?=#?\w+;)")
CSV_COLUMNS = (
    "chunk_id",
    "doc_id",
    "heading",
    "left_rank",
    "left_score",
    "right_rank",
    "right_score",
    "shift",
    "status",
    "probability",
    "tokens_seen",
    "tokens_total",
    "text",
)
# With a golden set picked, the CSV gains these two columns before ``text``.
GRADE_COLUMNS = ("grade", "grade_level")


def view_records(view: ExploreView, judged: JudgedView | None = None) -> list[dict[str, Any]]:
    """One flat dict per candidate (the CSV export); with ``judged``, each also has ``grade`` (None:
    unjudged) and ``grade_level`` (chunk/doc)."""
    records = [
        {
            "chunk_id": row.chunk.chunk_id,
            "doc_id": row.chunk.doc_id,
            "heading": row.chunk.heading,
            "left_rank": row.left_rank,
            "left_score": row.left_score,
            "right_rank": row.right_rank,
            "right_score": row.right_score,
            "shift": row.shift,
            "status": row.status,
            "probability": row.probability,
            "tokens_seen": row.tokens_seen,
            "tokens_total": row.tokens_total,
            "text": row.chunk.text,
        }
        for row in view.rows
    ]
    if judged is not None:
        for record in records:
            grade = judged.grade_of(record["chunk_id"])
            record["grade"] = grade.grade if grade else None
            record["grade_level"] = grade.level if grade else None
    return records


def view_csv(view: ExploreView, judged: JudgedView | None = None) -> str:
    """The CSV export: ``view_records`` with every text cell neutralised for spreadsheets (``csv_cell``)."""
    buffer = io.StringIO()
    records = view_records(view, judged)
    columns = list(CSV_COLUMNS) if judged is None else [*CSV_COLUMNS[:-1], *GRADE_COLUMNS, CSV_COLUMNS[-1]]
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows({key: csv_cell(value) for key, value in record.items()} for record in records)
    return buffer.getvalue()


def judged_lines(judged: JudgedView | None) -> list[str]:
    """What the golden set says about this query, as plain lines: the set, the best-graded chunk, and each
    figure before -> after (change). Empty without a set."""
    if judged is None:
        return []
    if not judged.judged:
        return [f"Golden set: {judged.not_judged_line()}"]
    lines = [f"Golden set: {judged.golden_set}"]
    lines.append(judged.best.line() if judged.best else "No relevant label for this query.")
    if judged.metrics is not None:
        before, after = judged.metrics["before"], judged.metrics["after"]
        lines += [
            f"{name} ({judged.metrics_level} level): {before[name]:.3f} -> {after[name]:.3f} "
            f"({after[name] - before[name]:+.3f})"
            for name in FIGURES
        ]
    return lines


def markdown_report(view: ExploreView, judged: JudgedView | None = None) -> str:
    lines = [
        "# RerankLens report",
        "",
        f"- Query: {markdown_line(view.query)}",
        f"- Collection: {markdown_line(view.collection)}",
        f"- Compared: {markdown_line(view.left_title)} vs {markdown_line(view.right_title)}, top-{view.k}",
        f"- Entered top-{view.k}: {len(view.comparison.entered)}, left top-{view.k}: {len(view.comparison.left)}",
        f"- Latency: {_latency(view)}",
        f"- Generated: {datetime.now(UTC).isoformat(timespec='seconds')}",
        "",
    ]
    lines += [f"- {markdown_line(line)}" for line in judged_lines(judged)]
    lines += [f"> Warning: {markdown_line(alarm)}" for alarm in view.alarms]
    grade_head, grade_rule = (" grade |", "---|") if judged is not None else ("", "")
    lines += [
        "",
        f"| {markdown_line(view.right_title)} rank | {markdown_line(view.left_title)} rank "
        f"| shift | status |{grade_head} document | text |",
        f"|---:|---:|---:|---|{grade_rule}---|---|",
    ]
    for row in view.right_rows() + [r for r in view.rows if r.right_rank is None]:
        text = " ".join(row.chunk.text.split())[:200]
        grade = f" {judged.badge(row.chunk.chunk_id)} |" if judged is not None else ""
        lines.append(
            f"| {row.right_rank or ''} | {row.left_rank or ''} | {_signed(row.shift)} | {row.status} |{grade} "
            f"{markdown_line(row.chunk.doc_id)} | {markdown_line(text)} |"
        )
    return "\n".join(lines) + "\n"


def html_report(view: ExploreView, judged: JudgedView | None = None) -> str:
    """A single HTML file (inline CSS, no scripts, no external resources) with both columns, and with a
    golden set its grades on the cards, the best-graded line and the figures."""
    esc = html.escape
    alarms = "".join(f'<p class="alarm">⚠ {esc(alarm)}</p>' for alarm in view.alarms)
    left = column_html(view.left_rows(), "left", view.k, view.query, judged)
    right = column_html(view.right_rows(), "right", view.k, view.query, judged)
    golden = "".join(f'<p class="rl-judged">{esc(line)}</p>' for line in judged_lines(judged))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>RerankLens report: {esc(view.query)}</title>
<style>body{{font-family:system-ui,sans-serif;margin:2rem}} .cols{{display:flex;gap:1.5rem}}
.cols>div{{flex:1;min-width:0}} .alarm{{background:#fff3cd;padding:.5rem}} mark{{background:#fff176}}</style>
</head><body>
<h1>RerankLens report</h1>
<p><b>Query:</b> {esc(view.query)}<br><b>Collection:</b> {esc(view.collection)}<br>
<b>Top-{view.k}:</b> {len(view.comparison.entered)} entered, {len(view.comparison.left)} left<br>
<b>Latency:</b> {esc(_latency(view))}</p>
{golden}{alarms}
<div class="cols"><div><h2>{esc(view.left_title)}</h2>{left}</div>
<div><h2>{esc(view.right_title)}</h2>{right}</div></div>
</body></html>
"""


def markdown_line(text: str) -> str:
    """``text`` for one line (a table cell, a list item) of the Markdown report: shown as it is, never acted on.
    Autolinks (``scheme://``, ``www.``, e-mail ``@``) are broken with a zero-width space (``break_autolinks``).

    >>> markdown_line("Upgrade to v2.4 if a > b: <b>*now*</b> &gt; www.x.io https://y.io") == (
    ...     "Upgrade to v2.4 if a > b: &lt;b>\\\\*now\\\\*&lt;/b> &amp;gt; www\\u200b.x.io https\\u200b://y.io")
    True
    """
    text = _ENTITY_START.sub("&amp;", " ".join(break_autolinks(text).split()))
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text).replace("<", "&lt;").replace("](", "]\\(")


def _signed(shift: int | None) -> str:
    return "" if shift is None else f"{shift:+d}"


def _latency(view: ExploreView) -> str:
    return latency_summary(view)
