"""A real headless Chromium (Debian's `chromium` and `chromium-driver`) driven by Selenium; a missing browser
skips the page tests locally and fails them under `CI=true`. Screenshots go to `build/screenshots/` of the
checkout (`DASHBOARD_SCREENSHOTS` to choose another folder)."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest

__all__ = ["chrome", "wait_for", "screenshot_dir", "console_errors", "loaded"]

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def screenshot_dir() -> Path:
    folder = Path(os.environ.get("DASHBOARD_SCREENSHOTS") or ROOT / "build" / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@contextmanager
def chrome(width: int = 1280, height: int = 800) -> Iterator[Any]:
    """A headless Chromium of `width` x `height` CSS pixels (its console kept for `console_errors`)."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not (Path(p).exists() or shutil.which(p))]
    if missing:
        message = (
            f"no browser for the page tests: {', '.join(missing)} missing "
            "(apt-get install chromium chromium-driver)"
        )
        if _in_ci():
            pytest.fail(message)
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        f"--window-size={width},{height}",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(CHROMEDRIVER)
    driver = webdriver.Chrome(service=service, options=options)
    try:
        driver.set_window_size(width, height)
        metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600}
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
        yield driver
    finally:
        driver.quit()


def wait_for(check: Callable[[], T | None], timeout: float = 15.0, what: str = "the page") -> T:
    """Poll `check` until it answers something truthy."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = check()
        except Exception as exc:  # the DOM changes under us while panels reload
            last = exc
            value = None
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}" + (f" ({last})" if last else ""))


def loaded(driver: Any, after: int = 0) -> int:
    """Wait until the page loaded its panels (after the load stamped `after`); the new stamp."""

    def stamp() -> int | None:
        value = driver.execute_script("return Number(document.body.dataset.loaded || 0)")
        return int(value) if value and int(value) > after else None

    return wait_for(stamp, what="the panels to load")


def console_errors(driver: Any) -> list[dict[str, Any]]:
    """The browser console's errors since the last call."""
    return [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
