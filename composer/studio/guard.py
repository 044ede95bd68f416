"""Only this machine's own pages may talk to the studio: a check on every request.

A web page on another site cannot read the studio's answers (the browser's same-origin
rule), but two tricks get around that, and this middleware refuses both with 403:

- DNS rebinding: evil.example resolves first to its own server, then to 127.0.0.1, so
  its page's requests reach the studio with "Host: evil.example:8765". Only the Host
  names the studio was started with (and the loopback names) are accepted.
- Cross-site requests: a foreign page posting to http://127.0.0.1:8765 sends its own
  Origin (and "Sec-Fetch-Site: cross-site"). A request with an Origin must come from
  one of the accepted hosts; requests without one (curl, scripts) pass.
"""

from __future__ import annotations

import contextlib
import json
import socket

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
WILDCARD_HOSTS = ("0.0.0.0", "::", "")


def host_names(host: str, port: int) -> set[str]:
    """The Host header values the studio at host:port answers to."""
    names = set(LOOPBACK_NAMES)
    if host in WILDCARD_HOSTS:  # every interface: the machine's own names and addresses
        names.add(socket.gethostname())
        with contextlib.suppress(OSError):
            names.update(info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None))
    else:
        names.add(host)
    names = {f"[{n}]" if ":" in n and not n.startswith("[") else n for n in names}
    allowed = {f"{name}:{port}".lower() for name in names}
    if port == 80:
        allowed |= {name.lower() for name in names}
    return allowed


class LocalOnly:
    """ASGI middleware: refuse requests whose Host or Origin is not one of `allowed`."""

    def __init__(self, app, allowed: set[str]):
        self.app = app
        self.allowed = {a.lower() for a in allowed}

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            problem = self.problem(_headers(scope))
            if problem:
                await _refuse(send, problem)
                return
        await self.app(scope, receive, send)

    def problem(self, headers: dict[str, str]) -> str | None:
        """Why a request with these headers is refused, or None."""
        host = headers.get("host", "").lower()
        if host not in self.allowed:
            return f"refused: Host {host or '(none)'!r} is not this studio's address"
        origin = headers.get("origin")
        if origin is not None and _origin_host(origin) not in self.allowed:
            return f"refused: requests from {origin!r} are not allowed, only from this studio"
        if headers.get("sec-fetch-site") == "cross-site":
            return "refused: a cross-site request"
        return None


def _origin_host(origin: str) -> str | None:
    """ "http://127.0.0.1:8765" -> "127.0.0.1:8765"; None for anything but plain http."""
    prefix = "http://"
    return origin[len(prefix):].lower() if origin.lower().startswith(prefix) else None


def _headers(scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


async def _refuse(send, message: str) -> None:
    body = json.dumps({"error": message}).encode()
    await send({"type": "http.response.start", "status": 403,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
