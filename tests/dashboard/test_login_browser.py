"""Signing in on a server with API keys: the page asks for a key (no console error before), refuses a wrong
one, opens with a reader key kept in the tab, shows no acknowledge or dismiss buttons to a reader, and forgets
the key on request."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .browser import chrome, console_errors, loaded, wait_for
from .world import Served, served_dashboard


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with served_dashboard(tmp_path_factory.mktemp("login"), keys=True) as served:
        yield served


def test_sign_in_with_a_reader_key(site: Served) -> None:
    from selenium.webdriver.common.by import By

    with chrome(1280, 800) as driver:
        driver.get(f"{site.url}/?period=this-month")
        login = driver.find_element(By.ID, "login")
        wait_for(login.is_displayed, what="the sign-in form")
        assert not driver.find_element(By.ID, "main").is_displayed()
        box = driver.find_element(By.ID, "login-key")
        box.send_keys("cwk_not_a_key")
        driver.find_element(By.CSS_SELECTOR, "#login-form button").click()
        error = driver.find_element(By.ID, "login-error")
        wait_for(lambda: "not valid" in error.text, what="the refusal")
        reader = site.server.key("reader")
        box.send_keys(reader)
        driver.find_element(By.CSS_SELECTOR, "#login-form button").click()
        loaded(driver)
        assert not login.is_displayed()
        assert driver.execute_script("return sessionStorage.getItem('costwarden.key')") == reader
        cards = driver.find_elements(By.CSS_SELECTOR, "[data-card]")
        assert len(cards) == 4
        summary = site.get("/api/v1/usage/summary", period="today")
        spent = driver.find_element(By.CSS_SELECTOR, "[data-card=today] [data-field=spent] .money")
        assert spent.get_attribute("data-exact") == summary["totals"]["cost"]
        assert driver.find_elements(By.CSS_SELECTOR, "[data-alert]"), "the reader sees the alerts"
        assert not driver.find_elements(By.CSS_SELECTOR, "button.ack, button.dismiss"), "but cannot act"
        # a CSV link downloads with the key (the link itself carries no key)
        link = driver.find_element(By.CSS_SELECTOR, "#p-table a.csv")
        assert "cwk_" not in link.get_attribute("href")
        driver.refresh()  # the key stays with the tab
        loaded(driver)
        assert not driver.find_element(By.ID, "login").is_displayed()
        driver.find_element(By.ID, "logout").click()
        wait_for(driver.find_element(By.ID, "login").is_displayed, what="the form again")
        assert driver.execute_script("return sessionStorage.getItem('costwarden.key')") is None
        assert console_errors(driver) == []
