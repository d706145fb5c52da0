"""`costwarden demo`: run the simulated fleet, then show what costwarden saw: the report, the budgets, the
alerts and the insights. Everything is simulated (a fake provider on 127.0.0.1) and says so."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from rich.console import Console
from rich.text import Text

from costwarden.clock import Clock
from costwarden.config import Settings, load_settings, user_data_dir
from costwarden.core.redact import mask_url
from costwarden.demo.fleet import FleetResult, run_fleet, script
from costwarden.warden import Warden

__all__ = ["DEMO_CONFIG", "DemoOutcome", "demo_config_path", "default_demo_database", "run_demo"]

DEMO_CONFIG = "demo.yaml"
BANNER = (
    "SIMULATED: this demo runs a made-up fleet against a fake provider on 127.0.0.1. No real API is called "
    "and no real money is spent; the prices are the real published ones."
)


@dataclass(frozen=True, slots=True)
class DemoOutcome:
    database: str
    config: Path
    fleet: FleetResult
    alerts: int


def demo_config_path() -> Path:
    """The example config the demo runs with (shipped in the package)."""
    return Path(str(resources.files("costwarden.demo").joinpath(DEMO_CONFIG)))


def default_demo_database() -> str:
    """A SQLite file of its own in the user data dir, so the demo never mixes with real spend."""
    return f"sqlite:///{user_data_dir() / 'demo.db'}"


def _fresh_sqlite(url: str) -> None:
    path = Path(url.removeprefix("sqlite:///"))
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            Path(f"{path}{suffix}").unlink()


@contextlib.contextmanager
def _quiet_alert_log() -> Iterator[None]:
    """The demo prints alerts itself; keep the log channel's copies off the terminal meanwhile."""
    logger = logging.getLogger("costwarden.alerts")
    handler = logging.NullHandler()
    propagate = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


def run_demo(
    console: Console,
    *,
    seed: int = 42,
    database: str | None = None,
    quiet: bool = False,
    clock: Clock | None = None,
) -> DemoOutcome:
    """Run the fleet into `database` (default: a fresh `demo.db` in the user data dir) and print the show;
    `clock` is the fleet's "now" (default: `$COSTWARDEN_NOW` or the system clock)."""
    from costwarden.testing import FakeProvider

    url = database or default_demo_database()
    if database is None:
        _fresh_sqlite(url)
    config = demo_config_path()
    settings = load_settings(config, database=url)
    console.print(Text(BANNER, style="bold yellow"))
    console.print(f"Config: {config}", markup=False)
    console.print(f"Ledger: {mask_url(url)}", markup=False)
    console.print("")

    def say(line: str) -> None:
        if not quiet:
            console.print(line, markup=False, highlight=False)

    alerts = 0
    with _quiet_alert_log(), FakeProvider() as fake, Warden(settings, clock=clock) as warden:

        def on_alert(alert: object) -> None:
            nonlocal alerts
            alerts += 1
            say(f"ALERT       {getattr(alert, 'level', ''):28} {getattr(alert, 'message', alert)}")

        warden.on_alert(on_alert)
        console.print(Text("THE FLEET AT WORK", style="bold"))
        fleet = run_fleet(warden, fake, script(seed), say)
        console.print("")
        console.print(
            f"{fleet.calls} calls: {fleet.recorded} recorded, {fleet.failed} failed, "
            f"{fleet.fallbacks} fell back to the local model, {fleet.blocked} blocked, "
            f"{fleet.terminated} run terminated; {alerts} alerts.",
            markup=False,
        )
        console.print("")
        show(console, settings, warden)
    console.print("")
    console.print(Text("Explore the same ledger yourself:", style="bold"))
    commands = ("report --by project --by agent", "top --models", "insights", "watch --statusline", "export")
    for command in commands:
        console.print(
            f"  costwarden --db {mask_url(url)} --config {config} {command}", markup=False, highlight=False
        )
    return DemoOutcome(url, config, fleet, alerts)


def show(console: Console, settings: Settings, warden: Warden) -> None:
    """The report of today, the budget status, the alert feed and the insights (from the views the
    commands print)."""
    from costwarden.errors import ConfigError
    from costwarden.render.text import budget_table, print_wide, report_renderable, usd
    from costwarden.views.alerts import AlertsQuery, alerts_view
    from costwarden.views.insights import InsightsQuery, insights_view
    from costwarden.views.periods import PeriodFlags
    from costwarden.views.reader import aggregator_of
    from costwarden.views.report import ReportQuery, budget_lines_of, summary_report

    now = warden.clock.now()
    tz = settings.tz
    aggregator = aggregator_of(warden)
    with aggregator.snapshot():
        budgets = budget_lines_of(warden, aggregator, now, per_budget=3)  # `costwarden budget status`
    report = summary_report(warden, ReportQuery(period=PeriodFlags(today=True), budgets=False)).report
    print_wide(console, report_renderable(report))
    console.print("")
    console.print(Text("BUDGET STATUS", style="bold"))
    print_wide(console, budget_table(budgets))
    console.print("")
    console.print(Text("ALERTS", style="bold"))
    try:
        feed = list(reversed(alerts_view(warden, AlertsQuery(limit=50)).alerts))
    except ConfigError:  # no budget engine: no feed
        feed = []
    for alert in feed:
        when = alert.at.astimezone(tz).strftime("%H:%M:%S")
        console.print(f"{when}  {alert.kind:13}  {alert.message}", markup=False, highlight=False)
    if not feed:
        console.print("(none)")
    console.print("")
    console.print(Text("INSIGHTS", style="bold"))
    found = insights_view(warden, InsightsQuery()).found  # the last 30 days
    for insight in found:
        console.print(f"* {insight.title}", markup=False)
        saving = f"estimated saving {usd(insight.monthly_saving)}/month"
        console.print(f"  {insight.suggestion}; {saving}", markup=False)
    if not found:
        console.print("(none)")
