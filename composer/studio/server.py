"""Running the studio: a socket on host:port, uvicorn serving the app, a browser tab.

`serve` is what `composer studio` runs until Ctrl-C; `start_in_thread` runs the same
server in a background thread (tests, benchmarks/bench_studio.py, the screenshot tool).
Either way the takes' temporary folder is deleted when the server stops.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import webbrowser
from collections.abc import Callable, Iterator

import uvicorn

from composer.errors import ComposerError
from composer.studio.app import create_app
from composer.studio.guard import host_names
from composer.studio.service import StudioService

STARTUP_TIMEOUT = 10.0  # seconds a background server may take to start


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port (port 0: any free port); ComposerError if taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise ComposerError(f"cannot listen on {host}:{port} ({error.strerror or error}); "
                            "choose another --port, or --port 0 for any free one") from error
    sock.listen(128)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    host = f"[{host}]" if ":" in host else host
    return f"http://{'127.0.0.1' if host in ('0.0.0.0', '[::]') else host}:{port}/"


def _server(service: StudioService, sock: socket.socket) -> uvicorn.Server:
    host, port = sock.getsockname()[:2]
    app = create_app(service, host_names(host, port))
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    return uvicorn.Server(config)


def serve(host: str, port: int, *, open_browser: bool = True,
          echo: Callable[[str], None] = print, service: StudioService | None = None) -> None:
    """Serve the studio on host:port until Ctrl-C, then delete its takes."""
    sock = bind(host, port)
    service = service or StudioService()
    try:
        url = url_of(sock)
        audio = "FluidSynth on this machine" if service.audio else "synthesised in the page"
        echo(f"composer studio at {url} (audio: {audio}); Ctrl-C stops it")
        if open_browser:
            webbrowser.open(url)
        _server(service, sock).run(sockets=[sock])
    except KeyboardInterrupt:
        pass  # uvicorn stops on Ctrl-C, then raises it again: stopping is the normal end
    finally:
        sock.close()
        service.close()
    echo("composer studio stopped; its takes are deleted")


@contextlib.contextmanager
def start_in_thread(service: StudioService, host: str = "127.0.0.1",
                    port: int = 0) -> Iterator[str]:
    """Run the studio in a background thread; yields its URL, stops it on exit."""
    sock = bind(host, port)
    server = _server(service, sock)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        for _ in range(int(STARTUP_TIMEOUT / 0.01)):
            if server.started:
                break
            threading.Event().wait(0.01)
        else:
            raise ComposerError("the studio server did not start")
        yield url_of(sock)
    finally:
        server.should_exit = True
        thread.join(timeout=STARTUP_TIMEOUT)
        sock.close()
        service.close()
