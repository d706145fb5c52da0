"""`costwarden watch`: running cost of a session, a run or today; `--statusline` for prompts."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from report_helpers import BERLIN, NOW, Filled, fill, oracle, run, run_json

from costwarden.render.text import tokens, usd
from costwarden.reports.formats import money
from costwarden.reports.periods import local_midnight

BUDGETS = """
budgets:
  - id: per-session
    scope: session
    period: month
    cost_usd: 10
  - id: monthly
    period: month
    cost_usd: 500
"""


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def budgeted(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Filled]:
    url = request.getfixturevalue("pg_url" if request.param == "postgres" else "sqlite_url")
    monkeypatch.setenv("COSTWARDEN_NOW", NOW.isoformat())
    yield fill(url, tmp_path, BUDGETS)


def test_statusline_of_a_session(capsys: pytest.CaptureFixture[str], budgeted: Filled) -> None:
    code, out, _ = run(capsys, budgeted.args("watch", "--session", "s-007", "--statusline"))
    assert code == 0
    total = oracle(budgeted.truth, (), BERLIN, where={"session": "s-007"})[0]
    line = out.strip()
    assert line.startswith(
        f"[Session cost: {usd(total.cost)} | {tokens(total.total_tokens)} tokens | Budget: "
    )
    assert re.fullmatch(r"\[.* \| Budget: \d+% remaining\]", line)
    month = (local_midnight(date(2026, 11, 1), BERLIN), local_midnight(date(2026, 12, 1), BERLIN))

    def remaining(used: Decimal, limit: int) -> Decimal:
        return max(Decimal(0), 100 - (used * 100 / limit).quantize(Decimal("0.1")))

    in_session = oracle(budgeted.truth, (), BERLIN, *month, where={"session": "s-007"})[0].cost
    overall = oracle(budgeted.truth, (), BERLIN, *month)[0].cost
    tightest = min(remaining(in_session, 10), remaining(overall, 500))
    assert line.endswith(f"Budget: {tightest.quantize(Decimal(1))}% remaining]")


def test_json_run_and_today(capsys: pytest.CaptureFixture[str], budgeted: Filled) -> None:
    data = run_json(capsys, budgeted.args("watch", "--run", "r-010", "--json"))
    assert data["scope"] == {"run": "r-010"}
    assert data["totals"]["cost"] == money(oracle(budgeted.truth, (), BERLIN, where={"run": "r-010"})[0].cost)
    today = local_midnight(date(2026, 11, 23), BERLIN), local_midnight(date(2026, 11, 24), BERLIN)
    data = run_json(capsys, budgeted.args("watch", "--json"))
    assert data["scope"] == {}
    assert data["totals"]["cost"] == money(oracle(budgeted.truth, (), BERLIN, *today)[0].cost)
    assert data["statusline"].startswith("[Today: $")


def test_refreshing_view(capsys: pytest.CaptureFixture[str], budgeted: Filled) -> None:
    code, out, _ = run(
        capsys, budgeted.args("watch", "--session", "s-007", "--count", "2", "--interval", "0.1")
    )
    assert code == 0
    assert out.count("costwarden watch session s-007") == 2
    assert "Session cost:" in out and "Last call:" in out and "per-session" in out
    assert run(capsys, budgeted.args("watch", "--session", "a", "--run", "b"))[0] == 2
