"""`python -m costwarden.testing [--port N]`: run the fake provider until interrupted."""

from costwarden.testing.fake_provider import main

__all__ = ["main"]

if __name__ == "__main__":
    main()
