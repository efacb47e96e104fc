"""HTML for ranked chunks: document and query text may only ever show as text."""

from __future__ import annotations

import html
import re
from dataclasses import replace

import pytest

from reranklens.types import Chunk
from reranklens.views.compare import Status
from reranklens.views.explore import ViewRow
from reranklens.views.render import (
    column_html,
    highlight,
    markdown_html,
    markdown_inline_html,
    query_terms,
    row_html,
    shift_badge,
)

PAYLOAD = "<img src=x onerror=alert(1)><script>alert(2)</script>"
# The only tags the Markdown renderer may write; everything else in a document shows as text.
SAFE_TAGS = {"p", "br", "strong", "em", "code", "pre", "ul", "ol", "li", "blockquote", "span", "mark"}


def make_row(
    status: Status = "stayed_in_top_k",
    shift: int | None = 0,
    text: str = "Backups run every night.",
    chunk_id: str = "backups.md#0",
    tokens: tuple[int | None, int | None] = (None, None),
    heading_path: tuple[str, ...] = ("Backups",),
    doc_id: str = "backups.md",
) -> ViewRow:
    return ViewRow(
        chunk=Chunk(
            chunk_id=chunk_id,
            doc_id=doc_id,
            text=text,
            source=doc_id,
            position=0,
            heading_path=heading_path,
            char_end=len(text),
            token_count=len(text.split()),
        ),
        left_rank=4,
        left_score=0.61,
        right_rank=2,
        right_score=3.25,
        shift=shift,
        status=status,
        probability=0.9627,
        tokens_seen=tokens[0],
        tokens_total=tokens[1],
    )


# -- highlight ------------------------------------------------------------------------------------


def test_highlight_escapes_markup_and_marks_query_terms() -> None:
    out = highlight(f"Restore a backup {PAYLOAD} from the console.", ["backup", "restore"])

    assert "<img" not in out
    assert "<script" not in out
    assert "&lt;img src=x onerror=alert(1)&gt;&lt;script&gt;" in out
    assert "<mark>Restore</mark>" in out
    assert "<mark>backup</mark>" in out


def test_highlight_is_case_insensitive_and_keeps_the_original_case() -> None:
    out = highlight("BACKUP, Backup and backup.", ["backup"])

    assert out == "<mark>BACKUP</mark>, <mark>Backup</mark> and <mark>backup</mark>."


def test_terms_inside_the_payload_cannot_break_the_escaping() -> None:
    out = highlight(PAYLOAD, query_terms("script img onerror src"))

    assert "<img" not in out
    assert "<script" not in out
    assert "&lt;<mark>img</mark> <mark>src</mark>=x <mark>onerror</mark>=alert(1)&gt;" in out
    assert "&lt;<mark>script</mark>&gt;" in out
    # Remove the marks and what is left is exactly the escaped text.
    assert out.replace("<mark>", "").replace("</mark>", "") == html.escape(PAYLOAD)


def test_terms_that_spell_entity_names_do_not_touch_entities() -> None:
    text = 'a < b & "c" > d'

    out = highlight(text, ["lt", "amp", "quot", "gt"])

    assert out == html.escape(text)


def test_regex_characters_in_terms_are_literal() -> None:
    out = highlight("Upgrade to v2.4 now, not v214 or v2x4.", query_terms("v2.4 (beta)"))

    assert out == "Upgrade to <mark>v2.4</mark> now, not v214 or v2x4."


def test_highlight_without_terms_only_escapes() -> None:
    assert highlight(PAYLOAD, []) == html.escape(PAYLOAD)


# -- query_terms ----------------------------------------------------------------------------------


def test_query_terms_drop_stopwords_and_sort_longest_first() -> None:
    assert query_terms("How do I reset the password in v2.4?") == ["password", "reset", "v2.4"]


def test_query_terms_are_lower_case_unique_and_skip_single_letters() -> None:
    assert query_terms("Backup BACKUP backup x Y of it") == ["backup"]


def test_longest_term_wins_where_terms_overlap() -> None:
    out = highlight("Release v2.4 and v2.", query_terms("v2 v2.4"))

    assert out == "Release <mark>v2.4</mark> and <mark>v2</mark>."


# -- row_html -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "label"),
    [("entered_top_k", "entered top-3"), ("left_top_k", "left top-3"), ("stayed_in_top_k", "in top-3")],
)
def test_row_has_a_class_and_label_for_its_status(status: Status, label: str) -> None:
    out = row_html(make_row(status=status), "right", 3, [])

    assert f'class="rl-row rl-{status}"' in out
    assert f'<span class="rl-status">{label}</span>' in out


def test_row_outside_the_top_k_has_no_status_label() -> None:
    out = row_html(make_row(status="outside"), "right", 3, [])

    assert "rl-outside" in out
    assert "rl-status" not in out


@pytest.mark.parametrize(("shift", "badge"), [(2, "▲2"), (-3, "▼3"), (0, "="), (None, "new")])
def test_right_side_shows_the_shift(shift: int | None, badge: str) -> None:
    right = row_html(make_row(shift=shift), "right", 3, [])
    left = row_html(make_row(shift=shift), "left", 3, [])

    assert shift_badge(shift) in right
    assert badge in right
    assert "rl-shift" not in left


def test_each_side_shows_its_own_rank_and_score() -> None:
    right = row_html(make_row(), "right", 3, [])
    left = row_html(make_row(), "left", 3, [])

    assert "<b>#2</b>" in right and "<code>3.2500</code>" in right and "p=0.963" in right
    assert "<b>#4</b>" in left and "<code>0.6100</code>" in left and "p=" not in left


def test_truncated_row_is_marked_on_the_right() -> None:
    truncated = row_html(make_row(tokens=(249, 330)), "right", 3, [])
    whole = row_html(make_row(tokens=(120, 120)), "right", 3, [])

    assert 'class="rl-truncated"' in truncated
    assert "249/330 tokens" in truncated
    assert "rl-truncated" not in whole
    assert "rl-truncated" not in row_html(make_row(tokens=(249, 330)), "left", 3, [])


def test_quotes_in_a_chunk_id_cannot_leave_the_data_attribute() -> None:
    out = row_html(make_row(chunk_id='x" onmouseover="alert(1)'), "left", 3, [])

    assert 'data-chunk="x&quot; onmouseover=&quot;alert(1)"' in out
    assert 'onmouseover="' not in out


def test_every_document_field_is_escaped() -> None:
    out = row_html(
        make_row(text=PAYLOAD, heading_path=(PAYLOAD,), doc_id="<b>doc</b>.md", chunk_id="<c>"), "right", 3, ["img"]
    )

    assert "<img" not in out
    assert "<script" not in out
    assert "<b>doc</b>" not in out
    assert "&lt;b&gt;doc&lt;/b&gt;.md" in out
    assert "<mark>img</mark>" in out


def test_long_text_is_previewed_and_shown_in_full() -> None:
    text = "backup " * 100
    out = row_html(make_row(text=text), "right", 3, ["backup"])

    preview = out.split('<div class="rl-preview">')[1].split("</div>")[0]
    assert preview.endswith("…")
    assert preview.count("<mark>backup</mark>") < 100
    assert out.count("<mark>backup</mark>") >= 100 + preview.count("<mark>backup</mark>")


def test_column_highlights_the_query_terms_of_every_row() -> None:
    rows = [make_row(chunk_id="one", text="Backups run nightly."), make_row(chunk_id="two", text="Nightly jobs.")]

    out = column_html(rows, "right", 3, "when do nightly backups run")

    assert out.startswith('<div class="rl-column rl-right">')
    assert out.count('class="rl-row ') == 2
    assert "<mark>Nightly</mark> jobs." in out
    assert "<mark>Backups</mark> <mark>run</mark> <mark>nightly</mark>." in out


# -- safe Markdown --------------------------------------------------------------------------------

HOSTILE_MARKDOWN = [
    PAYLOAD,
    "**<img src=x onerror=alert(1)>**",
    "*<script>alert(2)</script>*",
    "`<iframe src=//evil>`",
    "[click](javascript:alert(3))",
    '[<b onmouseover="alert(4)">x</b>](https://evil.example/" onclick="alert(5))',
    "![pixel](https://evil.example/p.png)",
    "![<img src=x onerror=alert(6)>](x)",
    "```html\n<script>alert(7)</script>\n```",
    "- <a href='javascript:alert(8)'>item</a>\n- **two**",
    "# <svg onload=alert(9)>",
    "> <style>body{display:none}</style>",
    "**a *b `c **d** e` f* g**",
    "_" * 50 + "*" * 50 + "`" * 50,
]


@pytest.mark.parametrize("text", HOSTILE_MARKDOWN)
def test_markdown_of_hostile_text_has_only_our_own_tags(text: str) -> None:
    for out in (markdown_html(text, ["img", "script", "alert"]), markdown_inline_html(text, ["img"])):
        tags = set(re.findall(r"<([A-Za-z][\w-]*)", out))
        assert tags <= SAFE_TAGS, (tags - SAFE_TAGS, out)
        assert not re.search(r"<[^>]*\s(on\w+|href|src)\s*=", out), out
        # Every attribute in the output is one we wrote: class, title, style.
        assert set(re.findall(r"\s([a-z-]+)=\"", out)) <= {"class", "title", "style"}, out


def test_markdown_keeps_every_character_of_the_text_visible() -> None:
    text = "Run `rm -rf <dir>` then [docs](https://x.io/a_b) & **done** <b>"
    shown = html.unescape(re.sub(r"<[^>]+>", "", markdown_inline_html(text)))
    assert shown == "Run rm -rf <dir> then docs (↗ https://x.io/a_b) & done <b>"


def test_markdown_formats_emphasis_code_lists_and_headings() -> None:
    text = (
        "# Forgot password?\n\n**Forgot password?** Use *Settings*.\n\n- one\n- `two`\n\n1. first\n\n```\ncode <x>\n```"
    )
    out = markdown_html(text, [])
    assert '<p style="margin:0 0 0.3em 0"><strong>Forgot password?</strong></p>' in out
    assert "<strong>Forgot password?</strong> Use <em>Settings</em>." in out
    assert re.search(r"<ul[^>]*><li>one</li><li><code>two</code></li></ul>", out)
    assert re.search(r"<ol[^>]*><li>first</li></ol>", out)
    assert "<code>code &lt;x&gt;</code></pre>" in out
    assert "**" not in out and "```" not in out


def test_links_are_not_clickable_but_marked_and_images_show_their_alt_text() -> None:
    out = markdown_inline_html("See [the docs](https://docs.example/x) ![diagram](d.png)")
    assert "<a" not in out and "href" not in out
    assert 'the docs <span class="rl-link"' in out and "(↗ https://docs.example/x)" in out
    assert '<span class="rl-image">[image: diagram]</span>' in out


def test_card_preview_shows_formatted_markdown_and_the_full_text_too() -> None:
    row = make_row(text="# Reset\n\n**Forgot password?** Click *Reset*.\n\n- step one\n- step two")
    out = row_html(row, "right", 3, ["reset"])
    preview = out.split('<div class="rl-preview">')[1].split("</div>")[0]
    assert preview.startswith("<mark>Reset</mark> <strong>Forgot password?</strong>")
    assert "• step one • step two" in preview
    full = out.split('<div class="rl-full">')[1]
    assert "<li>step one</li>" in full and "**" not in full


def test_new_badge_says_what_new_means() -> None:
    assert "not in the other ranking" in re.sub(r"<[^>]+>", "", shift_badge(None))


def test_a_chunk_without_a_token_count_does_not_claim_zero_tokens() -> None:
    counted = row_html(make_row(text="Backups run every night."), "left", 3, ["backup"])
    assert "full text (4 tokens)" in counted
    logged = make_row()
    logged = replace(logged, chunk=replace(logged.chunk, token_count=0))  # a replayed trace's candidate
    out = row_html(logged, "left", 3, ["backup"])
    assert "<summary>full text</summary>" in out
    assert "0 tokens" not in out
