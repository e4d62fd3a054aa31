"""uvicorn's HTTP/1.1 protocol with a deadline for request headers.

uvicorn times out idle kept-alive connections but not a client that opens a connection and sends
its request line and headers a byte at a time: each such client holds a connection for as long
as it likes. Here a connection whose request headers are not complete ``header_seconds`` after
its first byte (or after it was opened) is closed.
"""

from __future__ import annotations

import asyncio

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol


def with_header_deadline(seconds: float) -> type[H11Protocol]:
    class HeaderDeadlineProtocol(H11Protocol):
        header_seconds = seconds

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            self._header_timer: asyncio.TimerHandle | None = None
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.conn.their_state is h11.IDLE:
                if self._header_timer is None:
                    self._arm()
            else:
                self._disarm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._header_timer = self.loop.call_later(self.header_seconds, self._expire)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _expire(self) -> None:
            self._header_timer = None
            if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
                self.transport.close()

    return HeaderDeadlineProtocol


__all__ = ["with_header_deadline"]
