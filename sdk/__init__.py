"""Wingspan: typed workflows that run the same on a laptop and on a server.

``import wingspan`` does no work beyond defining names: heavy libraries, plugins
and configuration load on first use.
"""

from __future__ import annotations

from wingspan.core.errors import NonRetryableError, WingspanError

__version__ = "0.1.0"

__all__ = ["NonRetryableError", "WingspanError", "__version__"]
