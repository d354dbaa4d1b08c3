"""Every password, client secret, code and token the auth suite used, for its log check.

Its own module (not the conftest, which pytest may load under another name than the tests
import it by) so that there is one set."""

from __future__ import annotations

SECRETS: set[str] = set()


def secret(value: str) -> str:
    """Remembers a secret the suite uses (the log check looks for each), and returns it."""
    if len(value) >= 8:
        SECRETS.add(value)
    return value
