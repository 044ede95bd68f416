"""The studio's HTTP interface: Starlette routes over composer.studio.service.

Routes (every answer of /api is JSON, errors as {"error": message, "field": name}):

    GET  /                      the page (static/index.html)
    GET  /static/...            its CSS and JavaScript
    GET  /api/models            {"models": [...], "default": id, "audio": {...}, "limits"}
    GET  /api/takes             {"takes": [summary, ...]} oldest first
    POST /api/takes             JSON request (composer.studio.request) -> the new take
    POST /api/uploads           raw MIDI bytes (X-File-Name: percent-encoded name) -> a take
    GET  /api/takes/{id}        the take: notes, figures, settings, urls
    GET  /api/takes/{id}/midi   the MIDI file (a download)
    GET  /api/takes/{id}/wav    the FluidSynth render (409 when the server has no audio)
    GET  /api/takes/{id}/score  the take engraved as staff notation, SVG (409 without Verovio)
    GET  /api/takes/{id}/abc    the take as ABC notation (a download)

Bodies are read with a size cap before anything is parsed; every refusal is a JSON
error with a 4xx status and the server carries on.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import unquote

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from composer import constants as c
from composer.errors import ComposerError
from composer.studio.guard import LocalOnly
from composer.studio.request import STUDIO_LIMITS, RequestError, check_id
from composer.studio.service import StudioService

STATIC = Path(__file__).resolve().parent / "static"
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; "
                               "media-src 'self' blob:; object-src 'none'; "
                               "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


async def read_capped(request: Request, limit: int, what: str) -> bytes:
    """The request body, refused with 413 as soon as it passes `limit` bytes."""
    too_big = RequestError(f"{what} is larger than {limit:,} bytes, the most the studio "
                           f"accepts", "body", 413)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_big
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_big
    return bytes(body)


def _service(request: Request) -> StudioService:
    return request.app.state.service


def _take_of(request: Request):
    return _service(request).store.get(check_id(request.path_params["take_id"], "take"))


async def page(request: Request) -> Response:
    return FileResponse(STATIC / "index.html", headers=SECURITY_HEADERS)


async def models(request: Request) -> Response:
    answer = await run_in_threadpool(_service(request).models)
    return JSONResponse({**answer, "limits": STUDIO_LIMITS})


async def list_takes(request: Request) -> Response:
    return JSONResponse({"takes": [t.summary() for t in _service(request).store.all()]})


async def make_take(request: Request) -> Response:
    raw = await read_capped(request, c.STUDIO_MAX_JSON_BYTES, "the request")
    try:
        body = json.loads(raw or b"null")
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise RequestError(f"the request is not JSON: {error}") from error
    service = _service(request)
    take = await run_in_threadpool(service.make_take, body)
    return JSONResponse(take.to_json(service.audio), status_code=201)


async def upload(request: Request) -> Response:
    data = await read_capped(request, c.STUDIO_MAX_UPLOAD_BYTES, "the MIDI file")
    name = unquote(request.headers.get("x-file-name", ""))  # the page percent-encodes it
    service = _service(request)
    take = await run_in_threadpool(service.upload, data, name)
    return JSONResponse(take.to_json(service.audio), status_code=201)


async def take(request: Request) -> Response:
    return JSONResponse(_take_of(request).to_json(_service(request).audio))


async def midi(request: Request) -> Response:
    found = _take_of(request)
    return Response(found.midi, media_type="audio/midi",
                    headers=_attachment(f"{_file_stem(found)}.mid"))


async def wav(request: Request) -> Response:
    found = _take_of(request)
    path = await run_in_threadpool(_service(request).wav, found.id)
    return FileResponse(path, media_type="audio/wav",
                        headers=_attachment(f"{_file_stem(found)}.wav"))


async def score(request: Request) -> Response:
    found = _take_of(request)
    svg = await run_in_threadpool(_service(request).score, found.id)
    return Response(svg, media_type="image/svg+xml")


async def abc(request: Request) -> Response:
    found = _take_of(request)
    text = await run_in_threadpool(_service(request).abc, found.id)
    return Response(text, media_type="text/vnd.abc; charset=utf-8",
                    headers=_attachment(f"{_file_stem(found)}.abc"))


ROUTES = [
    Route("/", page),
    Route("/api/models", models),
    Route("/api/takes", list_takes, methods=["GET"]),
    Route("/api/takes", make_take, methods=["POST"]),
    Route("/api/uploads", upload, methods=["POST"]),
    Route("/api/takes/{take_id}", take),
    Route("/api/takes/{take_id}/midi", midi),
    Route("/api/takes/{take_id}/wav", wav),
    Route("/api/takes/{take_id}/score", score),
    Route("/api/takes/{take_id}/abc", abc),
    Mount("/static", StaticFiles(directory=STATIC), name="static"),
]


def create_app(service: StudioService, allowed_hosts: set[str]):
    """The studio as an ASGI app, answering only to `allowed_hosts` (composer.studio.guard)."""
    handlers = {RequestError: _request_error, ComposerError: _composer_error,
                HTTPException: _http_error, Exception: _unexpected_error}
    app = Starlette(routes=ROUTES, exception_handlers=handlers)
    app.state.service = service
    return LocalOnly(app, allowed_hosts)


def _file_stem(take) -> str:
    """A download name: "composer-take-3" or the upload's own name."""
    if take.source == "upload":
        return Path(take.title).stem or take.id
    return f"composer-take-{take.id[1:]}"


def _attachment(name: str) -> dict:
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)
    return {"Content-Disposition": f'attachment; filename="{safe}"', "Cache-Control": "no-store"}


def _error(message: str, status: int, field: str | None = None) -> JSONResponse:
    return JSONResponse({"error": message, "field": field}, status_code=status)


async def _request_error(request, error: RequestError):
    return _error(str(error), error.status, error.field)


async def _composer_error(request, error: ComposerError):
    return _error(str(error), 400)


async def _http_error(request, error: HTTPException):
    message = {404: f"no such address: {request.url.path}",
               405: f"{request.method} is not allowed on {request.url.path}"}
    return _error(message.get(error.status_code, str(error.detail)), error.status_code)


async def _unexpected_error(request, error: Exception):
    return _error(f"internal error: {type(error).__name__}: {error}", 500)
