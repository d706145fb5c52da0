"""The dashboard's routes over HTTP: the page and its assets (our own files, no external URL), panels behind
a reader key once keys exist, a restricted key's panels narrowed to its projects, bad parameters named."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from costwarden.dashboard.assets import ASSETS
from costwarden.views.overview import state_of

from .world import Served, served_dashboard


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with served_dashboard(tmp_path_factory.mktemp("routes"), keys=True) as served:
        yield served


def test_the_page_and_assets_are_served_without_anything_external(site: Served) -> None:
    anonymous = site.server.client()
    page = anonymous.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    links = re.findall(r'(?:href|src)="([^"]+)"', page.text)
    assert links and all(link.startswith(("/", "#")) for link in links), links
    for name in ASSETS:
        response = anonymous.get(f"/dashboard/assets/{name}")
        assert response.status_code == 200, name
        text = response.text.replace("http://www.w3.org/2000/svg", "")  # a namespace, not a fetch
        assert "http://" not in text and "https://" not in text, name
    assert anonymous.get("/dashboard/assets/../app.py").status_code == 404
    assert anonymous.get("/dashboard/assets/nothing.js").status_code == 404


def test_panels_need_a_reader_key(site: Served) -> None:
    anonymous = site.server.client()
    assert anonymous.get("/dashboard/access").json()["allowed"] is False
    assert anonymous.get("/dashboard/panels/overview").status_code == 401
    wrong = site.server.client("cwk_nothing")
    assert wrong.get("/dashboard/access").json() == {
        "allowed": False,
        "open": False,
        "role": None,
        "message": "the API key is not valid",
    }
    reader = site.server.client(site.server.key("reader"))
    assert reader.get("/dashboard/access").json()["allowed"] is True
    for name in ("overview", "chart", "table", "limits", "alerts", "insights"):
        response = reader.get(f"/dashboard/panels/{name}")
        assert response.status_code == 200, (name, response.text)
    gateway = site.server.client(site.server.key("gateway", "data"))
    assert gateway.get("/dashboard/access").json()["allowed"] is False


def test_a_restricted_key_sees_its_projects_only(site: Served) -> None:
    reader = site.server.client(site.server.key("reader", "data"))
    table = reader.get("/dashboard/panels/table").text
    assert re.findall(r'data-key="([^"]*)"', table) == ["data"]
    limits = reader.get("/dashboard/panels/limits").text
    assert set(re.findall(r'data-scope="([^"]*)"', limits)) == {"project=data"}
    assert "need an unrestricted key" in reader.get("/dashboard/panels/insights").text
    assert reader.get("/dashboard/panels/chart", params={"project": "frontend"}).status_code == 403


def test_bad_parameters_are_named(site: Served) -> None:
    api = site.api
    for params, parameter in (
        ({"stack": "colour"}, "stack"),
        ({"table": "planets"}, "table"),
        ({"period": "decade"}, "period"),
        ({"period": "all"}, "period"),
    ):
        response = api.get("/dashboard/panels/chart", params=params)
        assert response.status_code == 400, params
        assert response.json()["error"]["parameter"] == parameter
    response = api.get("/dashboard/panels/nothing")
    assert response.status_code == 404 and response.json()["error"]["parameter"] == "name"
    assert api.get("/dashboard/sessions/no-such-session").status_code == 404


def test_the_version_changes_when_events_land(site: Served) -> None:
    before = site.get("/dashboard/version")["version"]
    assert site.get("/dashboard/version")["version"] == before
    posted = site.api.post(
        "/api/v1/events", json={"provider": "openai", "model": "gpt-4o", "input_tokens": 10}
    )
    assert posted.status_code == 200
    assert site.get("/dashboard/version")["version"] != before


def test_every_panel_links_its_data_as_csv(site: Served) -> None:
    """Each CSV link of the page answers CSV whose rows are the API's JSON rows."""
    api = site.api
    links: dict[str, str] = {}
    for panel in ("overview", "chart", "table", "limits", "alerts", "insights"):
        html = api.get(f"/dashboard/panels/{panel}").text
        found = re.findall(r'<a class="csv"[^>]*href="([^"]+)"|<a[^>]*href="([^"]+)"[^>]*class="csv"', html)
        hrefs = [a or b for a, b in found]
        assert hrefs, f"the {panel} panel has no CSV link"
        links[panel] = hrefs[0].replace("&amp;", "&")
    for panel, href in links.items():
        response = api.get(href)
        assert response.status_code == 200, (panel, href, response.text)
        assert response.headers["content-type"].startswith("text/csv"), (panel, href)
    status = api.get("/api/v1/limits/status").json()
    rows = api.get(links["limits"]).text.splitlines()
    assert len(rows) == len(status) + 1 and rows[0].startswith("id,scope,period,unit,limit,spent")
    alerts = api.get("/api/v1/alerts").json()
    assert len(api.get(links["alerts"]).text.splitlines()) == len(alerts) + 1
    ranked = api.get("/api/v1/usage/top", params={"kind": "projects", "period": "last-30-days"}).json()
    table = api.get(links["table"]).text.splitlines()
    assert [line.split(",")[0] for line in table[1:]] == [r["key"]["project"] for r in ranked["rows"]]


PLANS = """
subscriptions:
  - provider: anthropic
    plan: team-max
    price_usd: 200
    where: {agent: [feature-dev]}
    windows:
      - {name: messages-day, unit: messages, limit: 40, reset: daily 00:00}
      - {name: messages-month, unit: messages, limit: 100000, reset: monthly 1}
"""


def test_quota_windows_and_the_floor(tmp_path: Path) -> None:
    with served_dashboard(tmp_path, extra_config=PLANS) as site:
        html = site.api.get("/dashboard/panels/limits").text
        assert "data-plan=" in html and "team-max" in html
        windows = re.findall(r'data-window="([^"]+)" data-state="([^"]+)"', html)
        assert {w for w, _ in windows} == {"messages-day", "messages-month"}
        from costwarden.views.quota_status import QuotaQuery, quota_status_view

        plan = quota_status_view(site.warden, QuotaQuery()).plans[0]
        day = next(w for w in plan.windows if w.window.name == "messages-day")
        assert dict(windows)["messages-day"] == ("red" if day.exhausted else state_of(day.percent))
        assert 'data-flag="under_floor"' in html, "a $200 plan used a sliver of its monthly window"
        overview = site.get("/api/v1/overview")["tightest"]
        assert overview["kind"] in ("budget", "quota")
