"""The gate every request passes before any route sees it: who is asking, and how much they may send.

    Guard(app, svc)   an ASGI wrapper outside FastAPI's own error handling

Routes that take a body are reached only by a known caller (a valid bearer token under ``/api``, a
live session for the UI's posts), and the body is counted as it arrives: a declared length over the
route's cap is refused before one byte is read, a streamed body is cut at the cap, and a client
that stops sending is dropped after ``Settings.idle_seconds``. The answer is sent by the guard
itself, so nothing the app does after a cut can turn it into a 500.

The client address is the TCP peer, unless the peer is one of ``Settings.trusted_proxies``: then
the last address in ``X-Forwarded-For`` that is not itself a trusted proxy. A forwarded header
from anyone else is ignored.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import anyio

from appvet.serve import auth

if TYPE_CHECKING:
    from appvet.serve.app import Services

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

UPLOAD_PATHS = frozenset({"/api/uploads", "/ui/upload"})
OPEN_PATHS = frozenset({"/api/health"})
"""API routes that need no token (and take no body)."""
SMALL_BODY = 8 * 1024
"""Sign-in and sign-out forms."""


def parse_networks(values: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(v.strip(), strict=False) for v in values if v.strip())


def _in(networks: tuple[Any, ...], address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in n for n in networks)


def client_address(peer: str, forwarded: str | None, trusted: tuple[Any, ...]) -> str:
    """The address a request came from; ``X-Forwarded-For`` counts only when ``peer`` is a trusted proxy."""
    if not forwarded or not _in(trusted, peer):
        return peer
    hops = [h.strip() for h in forwarded.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _in(trusted, hop):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer  # a proxy that forwards garbage is not believed
    return peer


class Guard:
    def __init__(self, app: ASGIApp, svc: Services) -> None:
        self.app = app
        self.svc = svc
        self.trusted = parse_networks(svc.settings.trusted_proxies)

    def body_cap(self, path: str) -> int:
        if path in UPLOAD_PATHS:
            return max(self.svc.settings.upload_limits.values())
        if path in ("/ui/login", "/ui/logout"):
            return SMALL_BODY
        return self.svc.settings.body_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        from appvet.serve.app import SECURITY_HEADERS

        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", ())}
        peer = scope["client"][0] if scope.get("client") else "?"
        ip = client_address(peer, headers.get("x-forwarded-for"), self.trusted)
        state = scope.setdefault("state", {})
        state["client_ip"] = ip
        path: str = scope["path"]
        method: str = scope["method"]
        sent = [False]

        async def guarded_send(message: Message) -> None:
            if state.get("guard_answered"):
                return  # the guard has answered already; what the app says after a cut is dropped
            if message["type"] == "http.response.start":
                message["headers"] = [(k, _relative(v) if k.lower() == b"location" else v)
                                      for k, v in message.get("headers", ())]
                sent[0] = True
            await send(message)

        async def answer(status: int, detail: str, extra: dict[str, str] | None = None) -> None:
            if sent[0]:
                return
            body = json.dumps({"detail": detail}).encode()
            hdrs = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"), (b"cache-control", b"no-store")]
            hdrs += [(k.lower().encode(), v.encode()) for k, v in (extra or {}).items()]
            hdrs += [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items() if k != "Cache-Control"]
            sent[0] = True
            state["guard_answered"] = True
            await send({"type": "http.response.start", "status": status, "headers": hdrs})
            await send({"type": "http.response.body", "body": body})

        if path.startswith("/api/") and path not in OPEN_PATHS:
            refused = await anyio.to_thread.run_sync(self._bearer, headers.get("authorization", ""), ip, state)
            if refused is not None:
                await answer(*refused)
                return
        elif path.startswith("/ui/") and method not in ("GET", "HEAD") and path != "/ui/login":
            from appvet.serve import sessions

            found = await anyio.to_thread.run_sync(sessions.lookup, self.svc, _cookie(headers))
            if found is None:
                await answer(401, "sign in first")
                return
            state["session"] = found  # the route takes it from here instead of looking it up again

        cap = self.body_cap(path)
        declared = headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > cap):
            await answer(413, f"request body larger than {cap} bytes")
            return

        received = [0]
        idle = self.svc.settings.idle_seconds

        async def counted_receive() -> Message:
            if state.get("guard_answered"):
                return {"type": "http.disconnect"}
            try:
                message = await asyncio.wait_for(receive(), timeout=idle)
            except TimeoutError:
                await answer(408, f"no data from the client for {idle:g} s")
                return {"type": "http.disconnect"}
            if message["type"] == "http.request":
                received[0] += len(message.get("body", b""))
                if received[0] > cap:
                    await answer(413, f"request body larger than {cap} bytes")
                    return {"type": "http.disconnect"}
            return message

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            if not state.get("guard_answered"):
                raise

    def _bearer(self, header: str, ip: str, state: dict[str, Any]) -> tuple[int, str, dict[str, str]] | None:
        """None when the token is valid (the principal goes in ``state``), else the refusal."""
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return 401, "a bearer token is required", {"WWW-Authenticate": "Bearer"}
        who = auth.authenticate(self.svc.engine, token.strip())
        if who is not None:
            # A valid token is never refused for other clients' failures from the same address.
            state["who"] = who
            return None
        if not self.svc.limiter.allow(ip):
            return 429, "too many failed sign-ins; wait", {"Retry-After": "10"}
        return 401, "invalid or revoked token", {"WWW-Authenticate": "Bearer"}


def _cookie(headers: dict[str, str]) -> str | None:
    """The session cookie as the routes read it (Starlette's parser): ``SimpleCookie`` gives up on
    the whole header at another cookie's JSON or space, and a signed-in user could not post."""
    from starlette.requests import cookie_parser

    from appvet.serve.app import SESSION_COOKIE

    raw = headers.get("cookie")
    return cookie_parser(raw).get(SESSION_COOKIE) if raw else None


def _relative(location: bytes) -> bytes:
    """A redirect target without scheme and host: the service never sends a client to a host it was told."""
    parts = urlsplit(location.decode("latin-1"))
    if not parts.scheme and not parts.netloc:
        return location
    path = parts.path or "/"
    if not path.startswith("/") or path.startswith("//"):
        path = "/" + path.lstrip("/")
    return (path + (f"?{parts.query}" if parts.query else "")).encode("latin-1")
