"""The static page itself, read as files: what the browser tests cannot see go wrong in one run."""

from __future__ import annotations

import re

from services.composer.palette import SKIN_FILLS
from services.contracts import SKIN_TONES
from services.settings import REPO_ROOT

STATIC = REPO_ROOT / "gateway" / "static"


def test_tone_swatches_show_the_composer_palette() -> None:
    html = (STATIC / "index.html").read_text()
    swatches = dict(re.findall(r'value="(\w+)"><span class="swatch" style="--c:(#[0-9a-fA-F]{6})"', html))
    assert swatches == {name: SKIN_FILLS[name] for name in ("yellow", *SKIN_TONES)}
    assert 'value="auto" checked' in html


def test_every_local_asset_the_page_names_exists() -> None:
    html = (STATIC / "index.html").read_text()
    assets = set(re.findall(r'(?:src|href)="static/([^"]+)"', html))
    assert {"app.js", "styles.css"} <= assets
    for name in assets:
        assert (STATIC / name).is_file(), name
    for module in STATIC.glob("*.js"):
        for imported in re.findall(r'from "\./([^"]+)"', module.read_text()):
            assert (STATIC / imported).is_file(), f"{module.name} imports missing {imported}"


def test_no_external_resources() -> None:
    for path in STATIC.iterdir():
        text = path.read_text()
        assert not re.search(
            r"""(?:src|href)=["']https?://|import\s.*https?://|url\(["']?https?://""", text
        ), path.name
