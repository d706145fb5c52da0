"""`budget status` folds the per-run budgets of finished runs into one line per budget and unit."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from costwarden import Attribution, CallRequest, Warden
from costwarden.budgets.status import budget_status
from costwarden.cli import main
from costwarden.config import load_settings


def test_finished_runs_collapse_into_one_line(
    capsys: pytest.CaptureFixture[str], sqlite_url: str, tmp_path: Path
) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(
        "budgets:\n"
        "  - {id: per-run, period: run, cost_usd: 1, tokens: 100000}\n"
        "  - {id: daily, period: day, cost_usd: 100}\n",
        encoding="utf-8",
    )
    with Warden(load_settings(config, database=sqlite_url)) as warden:
        for run in range(80):
            warden.record(
                provider="openai",
                model="gpt-4o",
                run=f"r{run:02d}",
                input_tokens=100,
                provider_cost=Decimal("0.01"),
            )
        request = CallRequest(
            provider="openai",
            model="gpt-4o",
            input_tokens=10,
            max_tokens=10,
            attribution=Attribution(run="r-live"),
        )
        live = warden.admit(request)
        engine = warden.budgets
        rows = [r for r in budget_status(engine) if r.policy.id == "per-run"]  # type: ignore[arg-type]
        scopes = sorted({r.scope for r in rows})
        assert scopes == ["80 finished runs", "run=r-live"]
        folded = [r for r in rows if r.scope == "80 finished runs"]
        assert {r.dimension: r.spent for r in folded} == {"cost": 80 * 10**8, "tokens": 8_000}
        code = main(["--config", str(config), "--db", sqlite_url, "budget", "status", "--json"])
        out = capsys.readouterr().out
        assert code == 0
        listed = [r for r in json.loads(out) if r["id"] == "per-run"]
        assert len(listed) == 4  # (finished runs + the live run) x (cost, tokens), not 162
        warden.release(live)
