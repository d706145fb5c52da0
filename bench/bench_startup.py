"""Start-up time of `costwarden --version`, `costwarden --help` and `import costwarden`, against a bare Python
start measured in the same run.

    python bench/bench_startup.py [--runs 20]

Each command runs `--runs` times as a fresh process, interleaved round by round:
- `python -c pass`: the interpreter alone (the baseline);
- `costwarden --version`: answered from `costwarden/_version.py`, without loading the CLI;
- `costwarden --help`, `costwarden report --help`: the stored texts (`costwarden/cli/helptexts.py`);
- `import costwarden`: the facade, whose names load on first use;
- `import costwarden.cli.app`: what every other command loads (typer, rich, pydantic, the Warden).
The commands run the console script as a shell would (`python -m costwarden` when there is none). Prints the
median in milliseconds and the ratio to the baseline; goals: <= 80 ms for `--version` and `--help`,
<= 60 ms for `import costwarden`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["main"]

_SCRIPT = Path(sys.executable).parent / "costwarden"
CLI = [str(_SCRIPT)] if _SCRIPT.is_file() else [sys.executable, "-m", "costwarden"]
COMMANDS: dict[str, list[str]] = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "costwarden --version": [*CLI, "--version"],
    "costwarden --help": [*CLI, "--help"],
    "costwarden report --help": [*CLI, "report", "--help"],
    "import costwarden": [sys.executable, "-c", "import costwarden"],
    "import costwarden.cli.app": [sys.executable, "-c", "import costwarden.cli.app"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    env = {**os.environ, "COLUMNS": "100"}  # a terminal as wide as most (the help texts need >= 80)
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(args.runs):
        for name, command in COMMANDS.items():
            started = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True, env=env)
            times[name].append(time.perf_counter() - started)
    base = statistics.median(times["python -c pass"])
    print(f"{'command':<28}{'median ms':>12}{'x baseline':>12}")
    for name, samples in times.items():
        median = statistics.median(samples)
        print(f"{name:<28}{median * 1000:>12.1f}{median / base:>12.2f}")


if __name__ == "__main__":
    main()
