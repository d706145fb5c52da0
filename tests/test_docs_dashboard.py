"""docs/dashboard.md: its example addresses are answered by every panel of a served dashboard, the API paths
it names exist, and its screenshot is a PNG taken at 1280x800."""

from __future__ import annotations

import re
import struct
from pathlib import Path

from costwarden.dashboard.routes import PANELS
from costwarden.server.openapi import openapi_schema
from dashboard.world import served_dashboard

DOC = Path(__file__).parents[1] / "docs" / "dashboard.md"


def _addresses() -> list[str]:
    blocks = re.findall(r"```text\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip()]


def test_the_example_addresses_are_answered(tmp_path: Path) -> None:
    addresses = _addresses()
    assert len(addresses) >= 2
    with served_dashboard(tmp_path) as site:
        for address in addresses:
            query = address.removeprefix("/")
            for panel in PANELS:
                response = site.api.get(f"/dashboard/panels/{panel}{query}")
                assert response.status_code == 200, (address, panel, response.text)
            session = re.search(r"session=([^&]+)", query)
            if session:
                assert site.api.get(f"/dashboard/sessions/{session.group(1)}").status_code in (200, 404)


def test_the_api_paths_named_exist() -> None:
    text = DOC.read_text(encoding="utf-8")
    named = set(re.findall(r"`(?:GET |POST )?(/api/v1/[^`?\s]+|/usage/[^`?\s]+)", text))
    paths = openapi_schema()["paths"]
    patterns = [re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", p) + "$") for p in paths]
    for path in named:
        full = path if path.startswith("/api/v1") else f"/api/v1{path}"
        assert any(p.match(full) for p in patterns), path


def test_the_screenshot_is_a_wide_png() -> None:
    assert "](dashboard.png)" in DOC.read_text(encoding="utf-8")
    data = (DOC.parent / "dashboard.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1280, 800)
