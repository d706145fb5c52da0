"""Every view's result owns its JSON schema id; the ids are pinned (a changed id is a new schema version
for every consumer), and the views layer stays free of the CLI (no Typer, no printing)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import costwarden.views
from costwarden.views.alerts import AlertsResult
from costwarden.views.analyze import AnalyzeResult
from costwarden.views.budget_status import BudgetStatusResult
from costwarden.views.channels import ChannelsResult
from costwarden.views.deliveries import DeliveriesResult
from costwarden.views.forecast import ForecastResult
from costwarden.views.insights import InsightsResult
from costwarden.views.live import LiveResult
from costwarden.views.maintenance import RollupCheck
from costwarden.views.prices import PriceCheckResult, PriceResult
from costwarden.views.quota_status import QuotaStatusResult
from costwarden.views.report import ReportQuery, ReportResult, summary_report
from costwarden.views.session import SessionResult
from costwarden.views.tiers import TiersResult
from costwarden.views.top import TopResult
from costwarden.views.trends import TrendsResult

from .conftest import World

PINNED = {
    ReportResult: "costwarden.report/2",
    SessionResult: "costwarden.session/1",
    TopResult: "costwarden.top/1",
    TrendsResult: "costwarden.trends/1",
    AnalyzeResult: "costwarden.analyze/1",
    ForecastResult: "costwarden.forecast/2",
    LiveResult: "costwarden.watch/2",
    InsightsResult: "costwarden.insights/1",
    QuotaStatusResult: "costwarden.quota_status/1",
    ChannelsResult: "costwarden.channels/1",
    DeliveriesResult: "costwarden.deliveries/1",
    BudgetStatusResult: "costwarden.budget_status/1",
    AlertsResult: "costwarden.alerts/1",
    RollupCheck: "costwarden.maintain/1",
    PriceResult: "costwarden.price/1",
    PriceCheckResult: "costwarden.price_check/1",
    TiersResult: "costwarden.tiers/1",
}
VIEWS = Path(costwarden.views.__file__).parent


@pytest.mark.parametrize("result", list(PINNED), ids=lambda r: r.__name__)
def test_each_result_names_its_pinned_schema(result: type) -> None:
    assert PINNED[result] == result.SCHEMA


def test_the_schema_id_leads_the_json_and_is_stable(world: World) -> None:
    first = summary_report(world.warden, ReportQuery()).to_json()
    again = summary_report(world.warden, ReportQuery()).to_json()
    assert next(iter(first)) == "schema" and first["schema"] == ReportResult.SCHEMA
    assert first == again  # the same question at the same moment: the same answer


def test_views_import_neither_typer_nor_the_cli() -> None:
    for path in sorted(VIEWS.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = (
                    [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
                )
                for name in names:
                    assert not name.startswith(("typer", "rich", "costwarden.cli")), (
                        f"{path.name} imports {name}"
                    )
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id != "print", f"{path.name} prints"
    modules = ", ".join(
        f"costwarden.views.{p.stem}" for p in sorted(VIEWS.glob("*.py")) if p.stem != "__init__"
    )
    code = f"import sys, {modules}; print('typer' in sys.modules or 'costwarden.cli' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
