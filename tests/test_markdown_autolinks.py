"""Escaped untrusted text never becomes a link or an image in Streamlit's own Markdown renderer.

The property is checked where it matters: many generated strings (autolink pieces, Markdown link and
image syntax, mixed case, underscores, escapes) are rendered by a real Streamlit page in Chromium as a
caption, an error and a line of the exported Markdown report, and the page must hold no ``<a>`` or
``<img>``. A plain-Python property test covers many more strings for the characters that must be broken.
"""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
from pathlib import Path

from app_server import CHROMIUM, REPO, free_port, log_tail, skip_without_chromium, stop_process, wait_until_healthy
from hypothesis import given
from hypothesis import strategies as st
from page_env import FOREIGN_ENV
from playwright.sync_api import sync_playwright

from reranklens.views.render import BREAK, markdown_escape
from reranklens.views.report import markdown_line

PROBE = Path(__file__).parent / "fixtures" / "probe" / "markdown_probe.py"
PIECES = (
    "https://evil.example/x",
    "http://e.io",
    "ftp://e.io",
    "HTTPS://E.IO",
    "www.evil.example",
    "WWW.EVIL.EXAMPLE",
    "_www.evil.example",
    "*www.e.io*",
    "(www.e.io)",
    "x@evil.example",
    "mailto:x@e.io",
    "xmpp:x@e.io",
    "a.b@c.d.io",
    "[Session expired](https://e.io)",
    "![](http://e.io/p.png)",
    "<https://e.io>",
    "<x@e.io>",
    "\\",
    "_",
    "~",
    " ",
    "\n",
    ":",
    "//",
    "@",
    ".",
    "www",
    "com",
    "é",
    "[",
    "](",
    ")",
)
FIXED = [
    "![](http://127.0.0.1:9/pixel.png)",
    "[Session expired](https://login.example)",
    "see https://evil.example/path?q=1 now",
    "visit www.evil.example or WWW.EVIL.EXAMPLE or _www.evil.example",
    "write to admin@evil.example",
    "judge: gpt-4o-mini\\@x.io",
]


def samples(count: int = 150, seed: int = 20) -> list[str]:
    rng = random.Random(seed)
    return FIXED + ["".join(rng.choice(PIECES) for _ in range(rng.randint(1, 6))) for _ in range(count)]


@given(st.text(alphabet=st.sampled_from(["w", "W", ".", ":", "/", "@", "_", "\\", "a", BREAK, " "]), max_size=40))
def test_escaped_text_holds_no_autolink_trigger(text: str) -> None:
    for escaped in (markdown_escape(text), markdown_line(text)):
        plain = re.sub(r"\\(.)", r"\1", escaped)  # what a viewer shows once backslash escapes are resolved
        # Every "://" and "@" is preceded by the zero-width break, so no scheme or local part touches it.
        assert not re.search(rf"(?<!{BREAK})(?:://|@)", plain), escaped
        assert not re.search(r"www\.", plain, re.IGNORECASE), escaped


def test_streamlit_renders_no_link_or_image_from_escaped_text(tmp_path: Path) -> None:
    skip_without_chromium()
    texts = samples()
    sample_file = tmp_path / "samples.json"
    sample_file.write_text(json.dumps(texts), encoding="utf-8")
    env = {name: value for name, value in os.environ.items() if name not in FOREIGN_ENV}
    env |= {"PROBE_SAMPLES": str(sample_file), "PYTHONPATH": str(REPO)}
    port, log = free_port(), tmp_path / "streamlit.log"
    command = [sys.executable, "-m", "streamlit", "run", str(PROBE), "--server.headless", "true"]
    command += ["--server.port", str(port), "--server.address", "127.0.0.1"]
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_healthy(process, url, log)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox", "--disable-gpu"]
            )
            page = browser.new_page(viewport={"width": 1500, "height": 1000})
            page.goto(url)
            page.get_by_text("probe done").wait_for(timeout=60_000)
            page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=60_000)
            markdown = page.locator("[data-testid='stMarkdownContainer']")
            rendered = markdown.count()
            links = page.locator("[data-testid='stMarkdownContainer'] a").evaluate_all("els => els.map(e => e.href)")
            images = page.locator("[data-testid='stMarkdownContainer'] img").count()
            shown = page.locator("[data-testid='stMarkdownContainer']").nth(0).inner_text()
            browser.close()
    finally:
        stop_process(process)
    assert rendered >= 2 * len(texts), log_tail(log)
    assert links == [] and images == 0, (links[:10], images)
    # The text is still there for a person to read (the break is invisible).
    assert shown.replace(BREAK, "") == FIXED[0]
    assert "Traceback" not in log.read_text(encoding="utf-8", errors="replace"), log_tail(log)
