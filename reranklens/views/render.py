"""HTML for ranked chunks, built so that document text can only ever show as text.

Document and query text is untrusted: every piece of it goes through ``html.escape`` before it
is placed in markup, and query-term highlighting wraps already-escaped text in ``<mark>``.
The same builders serve the Explore page (``st.html``) and the exported HTML report;
``markdown_escape`` defuses text bound for Streamlit's Markdown elements (errors, captions).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence

from reranklens.views.explore import ViewRow

STATUS_BACKGROUNDS = {
    "entered_top_k": "#e3f4e4",
    "left_top_k": "#fbe3e3",
    "stayed_in_top_k": "#ffffff",
    "outside": "#ffffff",
}
STATUS_BORDERS = {
    "entered_top_k": "#2e7d32",
    "left_top_k": "#c62828",
    "stayed_in_top_k": "#1565c0",
    "outside": "#d0d0d0",
}
STATUS_TEXT = {
    "entered_top_k": "entered top-{k}",
    "left_top_k": "left top-{k}",
    "stayed_in_top_k": "in top-{k}",
    "outside": "",
}
PREVIEW_CHARS = 220
_STOPWORDS = frozenset(
    "a an and are as at be by can do does for from how i in is it my of on or the to what when where which who "
    "why with you your".split()
)
_WORD = re.compile(r"\w[\w.-]*\w|\w", re.UNICODE)
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|<>~$:&^])")
# What GitHub-flavoured Markdown (Streamlit's remark-gfm, GitHub's cmark-gfm) turns into a link without any
# syntax: "scheme://", "www." after any character, and an e-mail address. Some viewers autolink after
# backslash escapes are resolved, so escaping is not enough: a zero-width space breaks each pattern.
_AUTOLINK = re.compile(r"(?=://)|(?<=www)(?=\.)|(?=@)", re.IGNORECASE)
BREAK = "\u200b"


def query_terms(query: str) -> list[str]:
    """Words of the query worth highlighting: no stopwords, longest first (so 'v2.4' beats 'v2')."""
    words = {w.lower() for w in _WORD.findall(query) if w.lower() not in _STOPWORDS and len(w) > 1}
    return sorted(words, key=lambda w: (-len(w), w))


def highlight(text: str, terms: Sequence[str]) -> str:
    """``text`` escaped for HTML, with case-insensitive matches of ``terms`` in ``<mark>``."""
    if not terms:
        return _escape(text)
    pattern = re.compile("|".join(re.escape(t) for t in terms), re.IGNORECASE)
    pieces: list[str] = []
    position = 0
    for match in pattern.finditer(text):
        pieces.append(_escape(text[position : match.start()]))
        pieces.append(f"<mark>{_escape(match.group(0))}</mark>")
        position = match.end()
    pieces.append(_escape(text[position:]))
    return "".join(pieces)


def shift_badge(shift: int | None) -> str:
    if shift is None:
        return '<span class="rl-shift rl-new" title="not in the other ranking">new</span>'
    if shift > 0:
        return f'<span class="rl-shift rl-up" style="color:#2e7d32">▲{shift}</span>'
    if shift < 0:
        return f'<span class="rl-shift rl-down" style="color:#c62828">▼{-shift}</span>'
    return '<span class="rl-shift rl-same" style="color:#777">=</span>'


def row_html(row: ViewRow, side: str, k: int, terms: Sequence[str]) -> str:
    """One candidate as a card: rank, shift, score, source and heading, a preview, the full text."""
    rank = row.left_rank if side == "left" else row.right_rank
    score = row.left_score if side == "left" else row.right_score
    status_text = STATUS_TEXT[row.status].format(k=k)
    badge = f' <span class="rl-status">{status_text}</span>' if status_text else ""
    shift = shift_badge(row.shift) if side == "right" else ""
    extra = ""
    if side == "right" and row.probability is not None:
        extra = f" · p={row.probability:.3f}"
    if side == "right" and row.truncated:
        extra += f' · <span class="rl-truncated">truncated: {row.tokens_seen}/{row.tokens_total} tokens</span>'
    preview = " ".join(row.chunk.text.split())
    preview = preview if len(preview) <= PREVIEW_CHARS else preview[: PREVIEW_CHARS - 1] + "…"
    heading = (
        f'<div class="rl-heading" style="color:#555">{_escape(row.chunk.heading)}</div>' if row.chunk.heading else ""
    )
    return (
        f'<div class="rl-row rl-{row.status}" data-chunk="{_escape(row.chunk.chunk_id)}" '
        f'style="background:{STATUS_BACKGROUNDS[row.status]};border-left:4px solid {STATUS_BORDERS[row.status]};'
        'padding:6px 10px;margin:0 0 6px 0;border-radius:4px;font-size:0.9rem">'
        f"<div><b>#{rank}</b> {shift} <code>{score:.4f}</code>{extra}{badge} · "
        f'<span class="rl-source">{_escape(row.chunk.doc_id)}</span></div>'
        f"{heading}"
        f'<div class="rl-preview">{highlight(preview, terms)}</div>'
        f"<details><summary>full text ({row.chunk.token_count} tokens)</summary>"
        f'<div class="rl-full" style="white-space:pre-wrap">{highlight(row.chunk.text, terms)}</div></details>'
        "</div>"
    )


def label_card_html(row: ViewRow, k: int, terms: Sequence[str], flag: str = "") -> str:
    """A candidate on the Label page: both ranks side by side, then the same card as Explore."""
    left = f"#{row.left_rank}" if row.left_rank is not None else "—"
    right = f"#{row.right_rank}" if row.right_rank is not None else "—"
    flag_html = f' <span class="rl-flag" style="color:#b26a00;font-weight:600">{_escape(flag)}</span>' if flag else ""
    ranks = (
        f'<div class="rl-ranks" style="font-size:0.8rem;color:#555">'
        f"first stage {left} → second {right}{flag_html}</div>"
    )
    return ranks + row_html(row, "right", k, terms)


def column_html(rows: Iterable[ViewRow], side: str, k: int, query: str) -> str:
    terms = query_terms(query)
    body = "".join(row_html(row, side, k, terms) for row in rows)
    return f'<div class="rl-column rl-{side}">{body}</div>'


def markdown_escape(text: str) -> str:
    """``text`` for a Streamlit Markdown element (``st.error``, ``st.caption``, ...) shown literally.

    The characters that Markdown, GitHub-flavoured Markdown or Streamlit turn into links, images,
    raw HTML, emphasis, colour or icon directives or LaTeX are backslash-escaped (CommonMark
    allows that for any ASCII punctuation). Autolinks (``https://``, ``www.``, e-mail addresses) are
    broken with a zero-width space (``break_autolinks``). Hyphens, dots and slashes elsewhere stay as
    they are, so ids and paths read normally.
    """
    return _MARKDOWN_SPECIAL.sub(r"\\\1", break_autolinks(text))


def break_autolinks(text: str) -> str:
    """``text`` with a zero-width space before ``://`` and ``@`` and inside ``www.`` (any case), so no
    Markdown viewer makes a link of it while a person still reads the same characters.

    >>> break_autolinks("mail a@b.io or see https://x.io and WWW.y.io") == (
    ...     "mail a\u200b@b.io or see https\u200b://x.io and WWW\u200b.y.io")
    True
    """
    return _AUTOLINK.sub(BREAK, text.replace(BREAK, ""))


def _escape(text: str) -> str:
    return html.escape(text, quote=True)
