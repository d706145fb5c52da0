"""The version, in one place: the package metadata (pyproject.toml reads it from here),
`costwarden.__version__` and `costwarden --version`, which reads this file without importing anything else."""

__all__ = ["__version__"]

__version__ = "0.1.0"
