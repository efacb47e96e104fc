"""HTML for ranked chunks, built so that document text can only ever show as text.

Document and query text is untrusted: every piece of it goes through ``html.escape`` before it
is placed in markup, and query-term highlighting wraps already-escaped text in ``<mark>``.
The same builders serve the Explore page (``st.html``) and the exported HTML report;
``markdown_escape`` defuses text bound for Streamlit's Markdown elements (errors, captions).

Chunk text is often Markdown. ``markdown_html`` shows a safe formatted form of it: emphasis, code,
lists and headings become a fixed set of tags that this module writes itself, around pieces of
text that were escaped first; a link shows its text and, marked, its target, but is not a link;
an image shows its alt text. No HTML of the document ever passes through.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence

from reranklens.views.explore import ExploreView, ViewRow
from reranklens.views.judged import JudgedView

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
TOP_K_LABEL_CHARS = 70
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
# Inline Markdown, first match wins: code spans, images, links, strong, emphasis. Spans stay within a line.
_INLINE = re.compile(
    r"(?P<tick>`+)(?P<code>[^`\n]+?)(?P=tick)"
    r"|!\[(?P<alt>[^\]\n]*)\]\((?P<src>[^)\n]*)\)"
    r"|\[(?P<label>[^\]\n]+)\]\((?P<href>[^)\n]*)\)"
    r"|\*\*(?P<strong>[^*\s](?:[^\n]*?[^*\s])?)\*\*"
    r"|(?<!\w)__(?P<strong_u>[^_\s](?:[^\n]*?[^_\s])?)__(?!\w)"
    r"|\*(?P<em>[^*\s](?:[^*\n]*?[^*\s])?)\*"
    r"|(?<!\w)_(?P<em_u>[^_\s](?:[^_\n]*?[^_\s])?)_(?!\w)"
)
_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^\s*[-*+]\s+(.*)$")
_NUMBERED = re.compile(r"^\s*\d{1,9}[.)]\s+(.*)$")
_QUOTE = re.compile(r"^\s{0,3}>\s?(.*)$")


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
        return (
            '<span class="rl-shift rl-new" style="color:#6a1b9a" title="not in the other ranking">'
            "new <small>(not in the other ranking)</small></span>"
        )
    if shift > 0:
        return f'<span class="rl-shift rl-up" style="color:#2e7d32">▲{shift}</span>'
    if shift < 0:
        return f'<span class="rl-shift rl-down" style="color:#c62828">▼{-shift}</span>'
    return '<span class="rl-shift rl-same" style="color:#777">=</span>'


GRADE_COLORS = {0: "#757575", 1: "#8d6e00", 2: "#1565c0", 3: "#2e7d32"}


def grade_badge_html(judged: JudgedView | None, chunk_id: str) -> str:
    """The golden set's mark for a chunk: "grade 3", "grade 2 · doc" (the document's grade, shown on each of
    its chunks), "unjudged" (in a top-k without a grade), or "" (no set, or nothing to say)."""
    if judged is None:
        return ""
    text = judged.badge(chunk_id)
    if not text:
        return ""
    grade = judged.grade_of(chunk_id)
    if grade is None:
        return (
            ' <span class="rl-grade rl-unjudged" title="no judgement in the golden set" '
            'style="border:1px dashed #9e9e9e;color:#616161;border-radius:8px;padding:0 6px;font-size:0.8rem">'
            "unjudged</span>"
        )
    title = (
        "document-level judgement: applies to every chunk of this document"
        if grade.level == "doc"
        else "judged for this chunk"
    )
    color = GRADE_COLORS.get(grade.grade, "#424242")
    return (
        f' <span class="rl-grade rl-grade-{grade.grade}" data-level="{grade.level}" title="{title}" '
        f'style="background:{color};color:#fff;border-radius:8px;padding:0 6px;font-size:0.8rem;white-space:nowrap">'
        f"{_escape(text)}</span>"
    )


def row_html(row: ViewRow, side: str, k: int, terms: Sequence[str], judged: JudgedView | None = None) -> str:
    """One candidate as a card: rank, shift, score, grade, source and heading, a preview, the full text."""
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
    preview = preview_text(row.chunk.text)
    # A logged candidate without text (a replayed trace) has no rank or score on the reranked side.
    rank_text = f"#{rank}" if rank is not None else "—"
    score_text = f"{score:.4f}" if score is not None else "—"
    preview_html = markdown_inline_html(preview, terms) if preview else "<i>no text: cannot be reranked</i>"
    heading = (
        f'<div class="rl-heading" style="color:#555">{_escape(row.chunk.heading)}</div>' if row.chunk.heading else ""
    )
    return (
        f'<div class="rl-row rl-{row.status}" data-chunk="{_escape(row.chunk.chunk_id)}" '
        f'style="background:{STATUS_BACKGROUNDS[row.status]};border-left:4px solid {STATUS_BORDERS[row.status]};'
        'padding:6px 10px;margin:0 0 6px 0;border-radius:4px;font-size:0.9rem">'
        f"<div><b>{rank_text}</b> {shift} <code>{score_text}</code>{extra}{badge}"
        f"{grade_badge_html(judged, row.chunk.chunk_id)} · "
        f'<span class="rl-source">{_escape(row.chunk.doc_id)}</span></div>'
        f"{heading}"
        f'<div class="rl-preview">{preview_html}</div>'
        f"<details><summary>{full_text_summary(row.chunk.token_count)}</summary>"
        f'<div class="rl-full">{markdown_html(row.chunk.text, terms)}</div></details>'
        "</div>"
    )


def full_text_summary(token_count: int) -> str:
    """ "full text (N tokens)"; a chunk we did not tokenize (a logged candidate of a trace, an attached
    collection without counts) says just "full text" rather than a false "0 tokens"."""
    return f"full text ({token_count} tokens)" if token_count > 0 else "full text"


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


def column_html(rows: Iterable[ViewRow], side: str, k: int, query: str, judged: JudgedView | None = None) -> str:
    terms = query_terms(query)
    body = "".join(row_html(row, side, k, terms, judged) for row in rows)
    return f'<div class="rl-column rl-{side}">{body}</div>'


def preview_text(text: str, limit: int = PREVIEW_CHARS) -> str:
    """The start of a chunk on one line: block markers (headings, fences, bullets, quotes) dropped, inline
    Markdown kept for ``markdown_inline_html``, cut at ``limit`` characters with an ellipsis."""
    lines = []
    for line in text.splitlines():
        if _FENCE.match(line):
            continue
        for pattern, prefix in ((_HEADING, ""), (_BULLET, "• "), (_NUMBERED, "• "), (_QUOTE, "")):
            if match := pattern.match(line):
                line = prefix + match.group(1)
                break
        lines.append(line)
    flat = " ".join(" ".join(lines).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def markdown_inline_html(text: str, terms: Sequence[str] = ()) -> str:
    """One line of Markdown as safe HTML: ``code``, **strong**, *emphasis*; a link's text with its target
    marked ("↗ target", not clickable); an image as "[image: alt]". Every piece of ``text`` is escaped
    (and query ``terms`` marked) before it is put between the tags written here.

    >>> markdown_inline_html("**Forgot password?** Run `acme reset` <b>")
    '<strong>Forgot password?</strong> Run <code>acme reset</code> &lt;b&gt;'
    """
    pieces: list[str] = []
    position = 0
    for match in _INLINE.finditer(text):
        pieces.append(highlight(text[position : match.start()], terms))
        position = match.end()
        group = match.lastgroup
        if match.group("code") is not None:
            pieces.append(f"<code>{highlight(match.group('code'), terms)}</code>")
        elif match.group("src") is not None:
            pieces.append(f'<span class="rl-image">[image: {highlight(match.group("alt"), terms)}]</span>')
        elif match.group("href") is not None:
            target = _escape(match.group("href").strip())
            pieces.append(
                f"{markdown_inline_html(match.group('label'), terms)}"
                f' <span class="rl-link" style="color:#777" title="a link in the document; not followed">'
                f"(↗ {target})</span>"
            )
        elif group in ("strong", "strong_u"):
            pieces.append(f"<strong>{markdown_inline_html(match.group(group), terms)}</strong>")
        else:
            pieces.append(f"<em>{markdown_inline_html(match.group(group or 'em'), terms)}</em>")
    pieces.append(highlight(text[position:], terms))
    return "".join(pieces)


def markdown_html(text: str, terms: Sequence[str] = ()) -> str:
    """A chunk's Markdown as safe HTML blocks: paragraphs (line breaks kept), headings in bold, bullet and
    numbered lists, quotes, and fenced code as preformatted text. Inline parts as ``markdown_inline_html``;
    anything else (tables, raw HTML) shows as the text it is."""
    blocks: list[str] = []
    lines = text.splitlines()
    paragraph: list[str] = []
    items: list[str] = []
    list_tag = ""

    def flush() -> None:
        nonlocal list_tag
        if paragraph:
            body = "<br>".join(markdown_inline_html(line.strip(), terms) for line in paragraph)
            blocks.append(f'<p style="margin:0 0 0.4em 0">{body}</p>')
            paragraph.clear()
        if items:
            body = "".join(f"<li>{markdown_inline_html(item, terms)}</li>" for item in items)
            blocks.append(f'<{list_tag} style="margin:0 0 0.4em 0">{body}</{list_tag}>')
            items.clear()
            list_tag = ""

    index = 0
    while index < len(lines):
        line = lines[index]
        index += 1
        if fence := _FENCE.match(line):
            flush()
            code: list[str] = []
            while index < len(lines) and not lines[index].lstrip().startswith(fence.group(1)):
                code.append(lines[index])
                index += 1
            index += 1  # the closing fence (or the end)
            blocks.append(
                '<pre style="white-space:pre-wrap;margin:0 0 0.4em 0;padding:4px 6px;background:#f3f3f3">'
                f"<code>{highlight(chr(10).join(code), terms)}</code></pre>"
            )
        elif not line.strip():
            flush()
        elif heading := _HEADING.match(line):
            flush()
            blocks.append(
                f'<p style="margin:0 0 0.3em 0"><strong>{markdown_inline_html(heading.group(1), terms)}</strong></p>'
            )
        elif (bullet := _BULLET.match(line)) or (number := _NUMBERED.match(line)):
            tag = "ul" if bullet else "ol"
            if paragraph or (list_tag and list_tag != tag):
                flush()
            list_tag = tag
            items.append((bullet or number).group(1))  # type: ignore[union-attr]
        elif quote := _QUOTE.match(line):
            flush()
            blocks.append(
                '<blockquote style="margin:0 0 0.4em 0;padding-left:8px;border-left:3px solid #ccc">'
                f"{markdown_inline_html(quote.group(1), terms)}</blockquote>"
            )
        else:
            if items:
                flush()
            paragraph.append(line)
    flush()
    return "".join(blocks)


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


def legend_html(k: int) -> str:
    """The colour key of the cards and the slope chart: entered, left, stayed in the top-k, and "new"."""
    swatches = "".join(
        f'<span class="rl-legend-{status}" style="display:inline-block;margin-right:14px">'
        f'<span style="display:inline-block;width:12px;height:12px;border-radius:2px;vertical-align:-1px;'
        f'background:{STATUS_BACKGROUNDS[status]};border-left:4px solid {STATUS_BORDERS[status]}"></span> '
        f"{text.format(k=k)}</span>"
        for status, text in (
            ("entered_top_k", "entered the top-{k} (moved up into it)"),
            ("left_top_k", "left the top-{k} (pushed out)"),
            ("stayed_in_top_k", "stayed in the top-{k}"),
        )
    )
    return (
        f'<div class="rl-legend" style="font-size:0.85rem;color:#333">{swatches}'
        '<span style="color:#555">▲/▼ = places moved · <strong style="color:#6a1b9a">new</strong> = not in the other '
        "ranking</span></div>"
    )


def top_k_html(view: ExploreView, judged: JudgedView | None = None) -> str:
    """The top-k before and after, side by side: which chunks entered (with the rank they came from),
    which left (with the rank they fell to), coloured as the cards are, each with its grade when a golden
    set is picked. All document text escaped."""
    before, after = view.left_rows()[: view.k], view.right_rows()[: view.k]

    def cell(row: ViewRow | None, side: str) -> str:
        if row is None:
            return "<td></td>"
        rank = row.left_rank if side == "before" else row.right_rank
        other = row.right_rank if side == "before" else row.left_rank
        if side == "before":
            move = f"→ #{other}" if other is not None else "→ absent"
            move = ("left, " + move) if row.status == "left_top_k" else move
        else:
            move = f"from #{other}" if other is not None else "new"
            move = ("entered, " + move) if row.status == "entered_top_k" else move
        label = row.chunk.doc_id + (f" › {row.chunk.heading}" if row.chunk.heading else "")
        label = label if len(label) <= TOP_K_LABEL_CHARS else label[: TOP_K_LABEL_CHARS - 1] + "…"
        return (
            f'<td class="rl-topk-cell rl-{row.status}" data-chunk="{_escape(row.chunk.chunk_id)}" '
            f'style="background:{STATUS_BACKGROUNDS[row.status]};border-left:4px solid {STATUS_BORDERS[row.status]};'
            'padding:4px 8px;vertical-align:top">'
            f"<b>#{rank}</b> {_escape(label)}{grade_badge_html(judged, row.chunk.chunk_id)} "
            f'<span class="rl-move" style="color:{STATUS_BORDERS[row.status]};white-space:nowrap">'
            f"{_escape(move)}</span></td>"
        )

    rows = "".join(
        f"<tr>{cell(before[i] if i < len(before) else None, 'before')}"
        f"{cell(after[i] if i < len(after) else None, 'after')}</tr>"
        for i in range(max(len(before), len(after)))
    )
    return (
        '<table class="rl-topk" style="width:100%;border-collapse:separate;border-spacing:0 4px;font-size:0.88rem">'
        f'<thead><tr><th style="text-align:left">Before: {_escape(view.left_title)} top-{view.k}</th>'
        f'<th style="text-align:left">After: {_escape(view.right_title)} top-{view.k}</th></tr></thead>'
        f"<tbody>{rows}</tbody></table>"
    )
