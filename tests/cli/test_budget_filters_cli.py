"""Every filter of a budget is shown wherever the budget is listed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from costwarden.cli import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_set_names_every_filter(capsys: pytest.CaptureFixture[str], sqlite_url: str) -> None:
    code, out, err = run(
        capsys,
        "--db",
        sqlite_url,
        "budget",
        "set",
        "--daily",
        "10",
        "--project",
        "a",
        "--agent",
        "b",
        "--tag",
        "env=prod",
    )
    assert code == 0, err
    assert out == (
        "Set budget 'project-a-agent-b-env-prod-daily': $10.00 per day "
        "(project=a, agent=b, tag:env=prod), block at the limit.\n"
    )
    code, out, err = run(capsys, "--db", sqlite_url, "budget", "list", "--json")
    (row,) = json.loads(out)
    assert row["scope"] == "project=a" and row["where"] == {"agent": ["b"], "tag:env": ["prod"]}
    assert row["filters"] == "project=a, agent=b, tag:env=prod"
    code, out, err = run(capsys, "--db", sqlite_url, "--no-color", "budget", "list")
    assert code == 0, err
    assert "project=a, agent=b, tag:env=prod" in out


def test_config_budget_filters_are_listed(
    capsys: pytest.CaptureFixture[str], sqlite_url: str, tmp_path: Path
) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(
        "budgets:\n"
        "  - {id: w, scope: agent, period: day, cost_usd: 1, where: {provider: [anthropic, openai]}}\n",
        encoding="utf-8",
    )
    assert run(capsys, "--db", sqlite_url, "db", "upgrade")[0] == 0
    code, out, err = run(capsys, "--config", str(config), "--db", sqlite_url, "--no-color", "budget", "list")
    assert code == 0, err
    assert "agent (each), provider=anthropic|openai" in out
