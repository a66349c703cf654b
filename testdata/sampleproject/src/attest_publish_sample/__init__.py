"""A tiny sample package used by attest-publish's end-to-end tests."""

__all__ = ["__version__", "greet"]

__version__ = "0.1.0"


def greet(name: str = "world") -> str:
    """Return a friendly greeting for ``name``."""
    return f"Hello, {name}!"
