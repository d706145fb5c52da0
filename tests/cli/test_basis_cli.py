"""`analyze`, `forecast` and `report --session` end their human output with the basis of their figures
and carry it as `basis` in their JSON: calls counted by where their cost came from."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from costwarden.cli import main
from costwarden.clock import FixedClock
from costwarden.config import load_settings
from costwarden.core.usage import CostSource, UsageEvent
from costwarden.views.basis import DISCLAIMER, VERIFY
from costwarden.warden import Warden

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
TAIL = f", 1 provider-reported, 1 estimated, 1 unpriced; {VERIFY}. Note: {DISCLAIMER}"


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """One session of four calls on 2026-11-20, one of each cost source."""
    monkeypatch.setenv("COSTWARDEN_NOW", NOW.isoformat())
    url = f"sqlite:///{tmp_path / 'costs.db'}"
    base = {"session": "s1", "project": "web", "input_tokens": 1000, "output_tokens": 200}
    with Warden(load_settings(database=url), clock=FixedClock(NOW)) as warden:
        at = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
        computed = warden.record(provider="anthropic", model="claude-haiku-4-5", occurred_at=at, **base)
        # claude-haiku-4-5: 1,000 * $1/MTok + 200 * $5/MTok = $0.002
        assert computed.cost is not None and computed.cost.total == Decimal("0.002")
        assert computed.cost.source == CostSource.COMPUTED
        reported = warden.record(
            provider="anthropic",
            model="claude-haiku-4-5",
            occurred_at=at.replace(minute=10),
            provider_cost=Decimal("0.05"),
            **base,
        )
        assert reported.cost is not None and reported.cost.source == CostSource.PROVIDER_REPORTED
        unpriced = warden.record(
            provider="acme", model="mystery-1", occurred_at=at.replace(minute=20), **base
        )
        assert unpriced.cost is not None and unpriced.cost.source == CostSource.UNPRICED
        estimated = warden.price(
            UsageEvent.create(
                provider="anthropic", model="claude-haiku-4-5", occurred_at=at.replace(minute=30), **base
            )
        )
        assert estimated.cost is not None
        warden.ledger.append(estimated.with_cost(replace(estimated.cost, source=CostSource.ESTIMATED)))
    return url


def run(capsys: pytest.CaptureFixture[str], db: str, *args: str) -> str:
    capsys.readouterr()
    code = main(["--db", db, *args])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def check_basis(data: dict[str, object]) -> None:
    basis = data["basis"]
    assert isinstance(basis, dict)
    assert basis["schema"] == "costwarden.basis/1"
    assert (basis["calls"], basis["computed"], basis["provider_reported"]) == (4, 1, 1)
    assert (basis["estimated"], basis["unpriced"]) == (1, 1)
    assert str(basis["catalog"]).startswith("genai-prices ")
    assert basis["catalog_date"] is not None and str(basis["catalog_date"]) <= "2026-11-20"
    assert (basis["note"], basis["disclaimer"]) == (VERIFY, DISCLAIMER)


def check_line(out: str) -> None:
    last = out.rstrip("\n").splitlines()[-1]
    assert last.startswith("Basis: 1 of 4 calls computed from token usage and the genai-prices ")
    assert last.endswith(TAIL)


@pytest.mark.parametrize(
    "args",
    [("analyze",), ("analyze", "--by-model", "--today"), ("forecast",), ("report", "--session", "s1")],
    ids=["analyze", "analyze-by-model", "forecast", "report-session"],
)
def test_the_human_output_ends_with_the_basis_and_the_json_carries_it(
    capsys: pytest.CaptureFixture[str], db: str, args: tuple[str, ...]
) -> None:
    check_line(run(capsys, db, *args))
    check_basis(json.loads(run(capsys, db, *args, "--format", "json")))


def test_a_filter_narrows_the_basis(capsys: pytest.CaptureFixture[str], db: str) -> None:
    data = json.loads(run(capsys, db, "analyze", "--where", "provider=acme", "--json"))
    assert (data["basis"]["calls"], data["basis"]["unpriced"], data["basis"]["computed"]) == (1, 1, 0)
    data = json.loads(run(capsys, db, "forecast", "--where", "provider=anthropic", "--json"))
    assert (data["basis"]["calls"], data["basis"]["unpriced"]) == (3, 0)
