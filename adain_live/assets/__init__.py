"""Bundled demo image and gallery styles (see SOURCES.md for licences)."""

from __future__ import annotations

from pathlib import Path

ASSETS = Path(__file__).resolve().parent
DEMO_CONTENT = ASSETS / "demo_content.jpg"
STYLES_DIR = ASSETS / "styles"
DEMO_STYLE = STYLES_DIR / "kandinsky.jpg"


def bundled_styles() -> list[Path]:
    """The bundled style images, sorted by name."""
    return sorted(p for p in STYLES_DIR.iterdir() if p.suffix.lower() in {".jpg", ".jpeg", ".png"})
