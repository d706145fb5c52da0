"""`python -m costwarden`."""

from costwarden.cli import run

__all__: list[str] = []

if __name__ == "__main__":
    run()
