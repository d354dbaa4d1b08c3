"""The web console under ``/console``, served by ``wingspan serve`` (:mod:`.pages`)."""

from wingspan.server.console.pages import console_routes

__all__ = ["console_routes"]
