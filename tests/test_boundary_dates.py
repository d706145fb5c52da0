"""The clock-sensitive tests pass whatever day the machine thinks it is: at a month's end, the year's end,
both DST change days of the configured timezone (Europe/Berlin in the report and budget tests) and Feb 29.

Each date runs the clock-sensitive test modules (budget periods and their alerts, report period flags,
forecasts, retention, periods, the clock) in a fresh pytest with costwarden's system clock moved there
(`--system-now`, see tests/conftest.py). Every date is half an hour from a Berlin or UTC day boundary, where
local and UTC calendars disagree. Since no module reads the system time except through `costwarden.clock`
(tests/test_one_clock.py), this is what Debian's `faketime` does to costwarden, without its cost.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CLOCK_SENSITIVE = [
    "tests/budgets/test_budget_periods.py",
    "tests/cli/test_period_options.py",
    "tests/cli/test_forecast_cli.py",
    "tests/cli/test_watch_cli.py",
    "tests/reports/test_forecast.py",
    "tests/reports/test_retention.py",
    "tests/core/test_periods.py",
    "tests/test_clock.py",
]
BOUNDARIES = {
    "month-end": "2026-11-30T23:30:00Z",  # already December in Berlin
    "year-end": "2026-12-31T23:30:00Z",  # already 2027 in Berlin
    "dst-spring": "2026-03-29T01:30:00Z",  # Berlin: 03:30 CEST, half an hour after 02:00 became 03:00
    "dst-autumn": "2026-10-25T00:30:00Z",  # Berlin: 02:30 CEST, before 03:00 CEST falls back to 02:00
    "leap-day": "2028-02-29T23:30:00Z",  # already March 1 in Berlin
}

pytestmark = pytest.mark.slow


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("COSTWARDEN_", "PYTEST_"))}


@pytest.mark.timeout(900)
@pytest.mark.parametrize("moment", BOUNDARIES.values(), ids=BOUNDARIES.keys())
def test_clock_sensitive_tests_pass_on_boundary_dates(moment: str) -> None:
    env = _env()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            f"--system-now={moment}",
            "-m",
            "not postgres and not redis and not slow",
            *CLOCK_SENSITIVE,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=880,
        check=False,
    )
    tail = "\n".join((result.stdout + result.stderr).splitlines()[-40:])
    assert result.returncode == 0, f"at {moment}:\n{tail}"
    assert " passed" in result.stdout and " failed" not in result.stdout


def test_the_system_clock_can_be_moved() -> None:
    """The `--system-now` switch itself: a run at 2028-02-29 sees that date through costwarden.clock."""
    probe = ROOT / "tests" / "test_clock.py"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--system-now=2028-02-29T23:30:00Z",
            f"{probe}::test_the_system_clock_reads_the_moved_date",
        ],
        cwd=ROOT,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")},
            "CW_EXPECT_DAY": "2028-02-29",
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "1 passed" in result.stdout
