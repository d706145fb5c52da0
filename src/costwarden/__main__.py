"""`python -m costwarden`."""

from costwarden.cli import run

if __name__ == "__main__":
    run()
