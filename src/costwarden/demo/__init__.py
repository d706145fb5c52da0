"""The demo: a simulated fleet (`fleet`) and the show around it (`runner`). See `costwarden demo`."""

from costwarden.demo.fleet import Call, FleetResult, run_fleet, script
from costwarden.demo.runner import DemoOutcome, default_demo_database, demo_config_path, run_demo

__all__ = [
    "Call",
    "FleetResult",
    "DemoOutcome",
    "script",
    "run_fleet",
    "run_demo",
    "demo_config_path",
    "default_demo_database",
]
