"""The dashboard in a real headless Chromium: it loads without console errors, its figures equal the API's
for the same question, a filter updates the chart and the URL, a budget pushed past its limit turns red
without a reload, a session's drill-down lists its calls; screenshots at 1280x800 and 390x844 are saved to
`build/screenshots/` (see `browser.py`); with `DASHBOARD_DOCS_SCREENSHOT=1` the wide one also becomes
docs/dashboard.png."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from costwarden.reports.formats import usd

from .browser import chrome, console_errors, loaded, screenshot_dir, wait_for
from .world import Served, served_dashboard

DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "dashboard.png"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with served_dashboard(tmp_path_factory.mktemp("dashboard")) as served:
        yield served


@pytest.fixture(scope="module")
def driver(site: Served) -> Iterator[Any]:
    with chrome(1280, 800) as driver:
        yield driver


def _open(driver: Any, site: Served, query: str = "") -> None:
    before = driver.execute_script("return Number((document.body && document.body.dataset.loaded) || 0)") or 0
    driver.get(f"{site.url}/{query}")
    loaded(driver, int(before) if driver.current_url.startswith(site.url) else 0)


def _css(driver: Any, selector: str) -> list[Any]:
    from selenium.webdriver.common.by import By

    return list(driver.find_elements(By.CSS_SELECTOR, selector))


def _one(driver: Any, selector: str) -> Any:
    found = _css(driver, selector)
    assert found, f"nothing matches {selector}"
    return found[0]


def _exact(element: Any, selector: str = ".money") -> str:
    from selenium.webdriver.common.by import By

    inner = element.find_element(By.CSS_SELECTOR, selector)
    value: str = inner.get_attribute("data-exact")
    return value


def test_loads_without_console_errors(site: Served, driver: Any) -> None:
    _open(driver, site)
    assert _css(driver, "[data-card=today]"), "the top row is there"
    assert _css(driver, "svg.chart rect.col"), "the chart is there"
    assert _css(driver, "table[data-table=projects] tbody tr"), "the table is there"
    assert console_errors(driver) == []


def test_screenshots(site: Served, driver: Any) -> None:
    folder = screenshot_dir()
    _open(driver, site)
    wide = folder / "dashboard-1280x800.png"
    assert driver.save_screenshot(str(wide))
    with chrome(390, 844) as phone:
        phone.get(f"{site.url}/")
        loaded(phone)
        width = phone.execute_script("return document.documentElement.scrollWidth")
        assert width <= 390, f"the page is {width}px wide at 390px"
        narrow = folder / "dashboard-390x844.png"
        assert phone.save_screenshot(str(narrow))
        height = phone.execute_script("return document.documentElement.scrollHeight")
        metrics = {"width": 390, "height": height, "deviceScaleFactor": 1, "mobile": True}
        phone.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
        assert phone.save_screenshot(str(folder / "dashboard-390-whole-page.png"))
        assert console_errors(phone) == []
    for path in (wide, narrow):
        assert Path(path).stat().st_size > 10_000
    if os.environ.get("DASHBOARD_DOCS_SCREENSHOT"):  # docs/dashboard.png is this run's wide screenshot
        shutil.copyfile(wide, DOCS_SCREENSHOT)


def test_top_row_equals_the_api_to_the_cent(site: Served, driver: Any) -> None:
    _open(driver, site)
    overview = site.get("/api/v1/overview")
    for name, period in (("today", "today"), ("this-week", "this-week"), ("this-month", "this-month")):
        card = _one(driver, f"[data-card={name}]")
        summary = site.get("/api/v1/usage/summary", period=period)
        spent = _exact(_one(driver, f"[data-card={name}] [data-field=spent]"))
        assert spent == summary["totals"]["cost"], name
        shown = _one(driver, f"[data-card={name}] [data-field=spent]").text.lstrip("≈")
        assert shown == usd(Decimal(summary["totals"]["cost"]))
        api_card = next(c for c in overview["cards"] if c["name"] == name)
        assert _exact(_one(driver, f"[data-card={name}] [data-field=projected]")) == api_card["projected"]
        assert f"s-{api_card['state']}" in card.get_attribute("class")
    month = next(c for c in overview["cards"] if c["name"] == "this-month")
    assert month["projected"] == site.get("/api/v1/forecast")["month"]["projected"]
    status = {(r["id"], r["scope"]): r for r in site.get("/api/v1/limits/status")}
    assert month["budget"]["percent"] == status[("monthly", "global")]["percent"]
    today = _one(driver, "[data-card=today]")
    assert "s-red" in today.get_attribute("class"), "today is past the daily budget of $5"
    assert "Over budget" in today.text


def test_chart_and_table_equal_the_api(site: Served, driver: Any) -> None:
    _open(driver, site)
    daily = site.get("/api/v1/usage/daily", period="last-30-days", stack="project")
    columns = _css(driver, "svg.chart rect.col")
    assert [c.get_attribute("data-day") for c in columns] == [r["day"] for r in daily["rows"]]
    assert [c.get_attribute("data-exact") for c in columns] == [r["cost"] for r in daily["rows"]]
    assert _exact(_one(driver, "[data-field=range-total]")) == daily["total_cost"]
    legend = {li.get_attribute("data-series"): _exact(li) for li in _css(driver, ".legend li")}
    per_project: dict[str, Decimal] = {}
    for row in daily["stacks"]:
        per_project[row["project"] or ""] = per_project.get(row["project"] or "", Decimal(0)) + Decimal(
            row["cost"]
        )
    assert {k: Decimal(v) for k, v in legend.items()} == per_project
    ranked = site.get("/api/v1/usage/by-project", period="last-30-days")
    rows = _css(driver, "table[data-table=projects] tbody tr")
    assert [r.get_attribute("data-key") for r in rows] == [r["key"]["project"] for r in ranked["rows"]]
    assert [r.find_elements("css selector", "td")[0].get_attribute("data-v") for r in rows] == [
        r["cost"] for r in ranked["rows"]
    ]


def test_a_day_is_drawn_by_the_hour(site: Served, driver: Any) -> None:
    _open(driver, site, "?period=today&stack=model")
    hourly = site.get("/api/v1/usage/trends", period="today", interval="hour", stack="model")
    columns = _css(driver, "svg.chart rect.col")
    assert len(columns) == 24
    assert [c.get_attribute("data-day") for c in columns] == [r["hour"] for r in hourly["rows"]]
    assert [c.get_attribute("data-exact") for c in columns] == [r["cost"] for r in hourly["rows"]]
    assert _exact(_one(driver, "[data-field=range-total]")) == hourly["total_cost"]
    assert not _css(driver, "svg.chart line.budget"), "no daily budget line on hourly bars"


def test_hover_shows_the_day_figures(site: Served, driver: Any) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    _open(driver, site)
    column = _css(driver, "svg.chart rect.col")[-2]
    ActionChains(driver).move_to_element(column).perform()
    tip = _one(driver, "#tip")
    wait_for(tip.is_displayed, what="the tip")
    day = column.get_attribute("data-day")
    assert tip.text.startswith(f"{day}: {usd(Decimal(column.get_attribute('data-exact')))}")


def test_a_filter_updates_the_chart_and_the_url(site: Served, driver: Any) -> None:
    _open(driver, site)
    before = _exact(_one(driver, "[data-field=range-total]"))
    stamp = int(driver.execute_script("return Number(document.body.dataset.loaded)"))
    _one(driver, "table[data-table=projects] button[data-value=frontend]").click()
    loaded(driver, stamp)
    query = parse_qs(urlparse(driver.current_url).query)
    assert query["project"] == ["frontend"]
    daily = site.get("/api/v1/usage/daily", period="last-30-days", project="frontend")
    after = _exact(_one(driver, "[data-field=range-total]"))
    assert after == daily["total_cost"] != before
    assert [r.get_attribute("data-key") for r in _css(driver, "table[data-table=projects] tbody tr")] == [
        "frontend"
    ]
    assert "project: frontend" in _one(driver, "#chips").text
    # the period select changes the URL too, and the back button restores the view
    from selenium.webdriver.support.ui import Select

    stamp = int(driver.execute_script("return Number(document.body.dataset.loaded)"))
    Select(_one(driver, "#f-period")).select_by_value("this-week")
    loaded(driver, stamp)
    assert parse_qs(urlparse(driver.current_url).query)["period"] == ["this-week"]
    week = site.get("/api/v1/usage/daily", period="this-week", project="frontend")
    assert _exact(_one(driver, "[data-field=range-total]")) == week["total_cost"]
    stamp = int(driver.execute_script("return Number(document.body.dataset.loaded)"))
    driver.back()
    loaded(driver, stamp)
    assert _exact(_one(driver, "[data-field=range-total]")) == daily["total_cost"]
    assert console_errors(driver) == []


def test_a_budget_past_its_limit_turns_red_without_a_reload(site: Served, driver: Any) -> None:
    admin = site.api
    put = admin.put(
        "/api/v1/limits/canary-daily",
        json={"period": "day", "cost_usd": "1", "scope": "project", "value": "canary"},
    )
    assert put.status_code == 200, put.text
    _open(driver, site, "?project=canary")
    row = "tr[data-budget=canary-daily][data-scope='project=canary']"
    wait_for(lambda: _css(driver, row), what="the canary budget row")
    assert _one(driver, row).get_attribute("data-state") == "green"
    assert "s-green" in _one(driver, "[data-card=today]").get_attribute("class")
    driver.execute_script("window.__same_page = true")
    posted = admin.post(
        "/api/v1/events",
        json={
            "provider": "anthropic",
            "model": "claude-sonnet-4-5",
            "input_tokens": 400_000,
            "output_tokens": 20_000,
            "project": "canary",
            "session": "canary-1",
        },
    )
    assert posted.status_code == 200 and posted.json()["accepted"] == 1, posted.text
    wait_for(lambda: _one(driver, row).get_attribute("data-state") == "red", what="the row to turn red")
    wait_for(lambda: "s-red" in _one(driver, "[data-card=today]").get_attribute("class"), what="the card")
    assert driver.execute_script("return window.__same_page") is True, "no reload"
    status = {(r["id"], r["scope"]): r for r in site.get("/api/v1/limits/status")}
    assert (
        _one(driver, row).get_attribute("data-percent")
        == status[("canary-daily", "project=canary")]["percent"]
    )
    assert console_errors(driver) == []


def test_session_drill_down_lists_its_calls(site: Served, driver: Any) -> None:
    _open(driver, site, "?table=sessions")
    first = _one(driver, "table[data-table=sessions] button[data-session]")
    session = first.get_attribute("data-session")
    stamp = int(driver.execute_script("return Number(document.body.dataset.loaded)"))
    first.click()
    loaded(driver, stamp)
    assert parse_qs(urlparse(driver.current_url).query)["session"] == [session]
    detail = site.get(f"/api/v1/sessions/{session}")
    calls = _css(driver, "[data-session-panel] tr[data-call]")
    assert [c.get_attribute("data-call") for c in calls] == [c["id"] for c in detail["calls"]]
    failed = [c["id"] for c in detail["calls"] if c["status"] != "ok"]
    assert [
        c.get_attribute("data-call") for c in calls if "failed" in (c.get_attribute("class") or "")
    ] == failed
    assert _exact(_one(driver, "[data-session-panel] [data-field=session-total]")) == detail["totals"]["cost"]
    stamp = int(driver.execute_script("return Number(document.body.dataset.loaded)"))
    _one(driver, "[data-close-session]").click()
    loaded(driver, stamp)
    assert not _one(driver, "[data-session-panel]").is_displayed()


def test_sorting_and_keyboard(site: Served, driver: Any) -> None:
    from selenium.webdriver.common.keys import Keys

    _open(driver, site, "?table=agents")
    header = _one(driver, "table[data-table=agents] button[data-sort=calls]")
    header.send_keys(Keys.ENTER)
    calls = [
        int(td.get_attribute("data-v"))
        for td in _css(driver, "table[data-table=agents] tbody tr td:nth-of-type(4)")
    ]
    assert calls == sorted(calls, reverse=True) and len(calls) > 1
    header.send_keys(Keys.ENTER)
    calls = [
        int(td.get_attribute("data-v"))
        for td in _css(driver, "table[data-table=agents] tbody tr td:nth-of-type(4)")
    ]
    assert calls == sorted(calls)
    # a day of the chart is reachable by keyboard and says its figures
    column = _css(driver, "svg.chart rect.col")[0]
    assert column.get_attribute("tabindex") == "0"
    driver.execute_script("arguments[0].focus()", column)
    tip = _one(driver, "#tip")
    wait_for(tip.is_displayed, what="the tip on focus")


def test_acknowledge_an_alert(site: Served, driver: Any) -> None:
    _open(driver, site)
    feed = site.get("/api/v1/alerts", acknowledged="false")
    assert feed, "the history raised alerts"
    first = feed[0]["id"]
    item = f"[data-alert='{first}']"
    assert _one(driver, item).get_attribute("data-acked") == "false"
    stamp = int(driver.execute_script("return Number(document.body.dataset.loaded)"))
    _one(driver, f"{item} button.ack").click()
    loaded(driver, stamp)
    wait_for(lambda: _one(driver, item).get_attribute("data-acked") == "true", what="the acknowledgement")
    acked = site.get(f"/api/v1/alerts/{first}")["acknowledged"]
    assert acked is not None and acked["by"] in _one(driver, item).text
    assert console_errors(driver) == []


def test_dismiss_and_restore_an_insight(site: Served, driver: Any) -> None:
    _open(driver, site)
    found = site.get("/api/v1/insights", period="last-30-days")["insights"]
    assert found, "the flaky agent is worth an insight"
    first = found[0]["id"]
    item = f"[data-insight='{first}']"
    assert _one(driver, ".insights [data-field=saving], [data-field=saving]")
    stamp = int(driver.execute_script("return Number(document.body.dataset.loaded)"))
    _one(driver, f"{item} button.dismiss").click()
    loaded(driver, stamp)
    assert _one(driver, item).get_attribute("data-dismissed") == "true"
    assert first not in {i["id"] for i in site.get("/api/v1/insights", period="last-30-days")["insights"]}
    driver.execute_script("document.querySelector('details.dismissed').open = true")
    stamp = int(driver.execute_script("return Number(document.body.dataset.loaded)"))
    _one(driver, f"{item} button.dismiss").click()
    loaded(driver, stamp)
    assert _one(driver, item).get_attribute("data-dismissed") == "false"
    assert first in {i["id"] for i in site.get("/api/v1/insights", period="last-30-days")["insights"]}


def test_a_table_of_one_tag(site: Served, driver: Any) -> None:
    _open(driver, site, "?table=tags")
    box = _one(driver, "#tag-name")
    box.send_keys("team")
    stamp = int(driver.execute_script("return Number(document.body.dataset.loaded)"))
    _one(driver, "form[data-tag-form] button").click()
    loaded(driver, stamp)
    assert parse_qs(urlparse(driver.current_url).query)["table"] == ["tag:team"]
    ranked = site.get("/api/v1/usage/top", kind="tag:team", period="last-30-days")
    rows = _css(driver, "table[data-table='tag:team'] tbody tr")
    assert [r.get_attribute("data-key") for r in rows] == [r["key"]["tag:team"] for r in ranked["rows"]]
    assert {r["key"]["tag:team"] for r in ranked["rows"]} == {"red", "blue"}
    stamp = int(driver.execute_script("return Number(document.body.dataset.loaded)"))
    _one(driver, "table[data-table='tag:team'] button[data-value='team:red']").click()
    loaded(driver, stamp)
    assert parse_qs(urlparse(driver.current_url).query)["tag"] == ["team:red"]
    daily = site.get("/api/v1/usage/daily", period="last-30-days", tag="team:red")
    assert _exact(_one(driver, "[data-field=range-total]")) == daily["total_cost"]
    assert console_errors(driver) == []
