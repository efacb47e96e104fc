"""``.streamlit/config.toml``: no "Deploy" button, an accent colour that does not read
as an error on a focused box, and a comment above every option (house style)."""

from __future__ import annotations

import colorsys
import tomllib
from pathlib import Path

CONFIG = Path(__file__).resolve().parents[1] / ".streamlit" / "config.toml"


def test_toolbar_hides_deploy() -> None:
    assert tomllib.loads(CONFIG.read_text())["client"]["toolbarMode"] == "minimal"


def test_accent_colour_is_not_red() -> None:
    colour = tomllib.loads(CONFIG.read_text())["theme"]["primaryColor"].lstrip("#")
    red, green, blue = (int(colour[i : i + 2], 16) / 255 for i in (0, 2, 4))
    hue = colorsys.rgb_to_hsv(red, green, blue)[0] * 360
    assert 90 < hue < 270, (
        f"primaryColor #{colour} (hue {hue:.0f}) reads as red/orange: a focused box looks like an error"
    )


def test_every_option_has_a_comment() -> None:
    lines = CONFIG.read_text().splitlines()
    for index, line in enumerate(lines):
        if "=" in line and not line.lstrip().startswith("#"):
            assert lines[index - 1].lstrip().startswith("#"), f"no comment above: {line}"
