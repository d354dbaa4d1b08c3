"""Event streams end when the server drains.

The console's live pages hold an event stream (``text/event-stream``) open for as long as the
page is open. A stopping server lets calls in flight finish within its grace; an event stream
never finishes by itself, so uvicorn cancelled each one at the end of the grace and logged it
as a failure ("Exception in ASGI application", with a traceback), on every stop with a page
open. :class:`DrainingStreams` ends them instead, once the server starts draining: the route is
told that its client has gone (how Litestar stops a stream: its producer is cancelled at once,
wherever it waits), then the response is completed, so the stream closes cleanly and the
browser's ``EventSource`` connects again, to the server that comes next.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import anyio

__all__ = ["DrainingStreams"]

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[MutableMapping[str, Any], Receive, Send], Awaitable[None]]

_EVENT_STREAM = b"text/event-stream"
_DISCONNECT: Message = {"type": "http.disconnect"}


class DrainingStreams:
    """ASGI middleware: each response of type ``text/event-stream`` ends once ``drained`` is set."""

    def __init__(self, app: App, drained: anyio.Event) -> None:
        self.app = app
        self.drained = drained

    async def __call__(self, scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        streaming = completed = False

        async def watched_send(message: Message) -> None:
            nonlocal streaming, completed
            if message["type"] == "http.response.start":
                streaming = any(name.lower() == b"content-type" and value.startswith(_EVENT_STREAM)
                                for name, value in message.get("headers", ()))
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                completed = True
            await send(message)

        async def receive_until_drained() -> Message:
            # a stream's route only listens here for its client going away: the server draining
            # counts as that (other requests read their bodies as they come)
            if not streaming:
                return await receive()
            return await self._first_of(receive)

        await self.app(scope, receive_until_drained, watched_send)
        if streaming and not completed and self.drained.is_set():
            await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _first_of(self, receive: Receive) -> Message:
        """The client's next message, or a disconnect once the server drains, whichever is first."""
        if self.drained.is_set():
            return _DISCONNECT
        heard: Message = _DISCONNECT
        async with anyio.create_task_group() as group:
            async def from_client() -> None:
                nonlocal heard
                heard = await receive()
                group.cancel_scope.cancel()

            group.start_soon(from_client)
            await self.drained.wait()
            group.cancel_scope.cancel()
        return heard
