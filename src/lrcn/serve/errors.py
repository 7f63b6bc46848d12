"""Every error is one JSON line, ``{"error": "<one line>"}``, with the status that names its cause:

413 a body above the cap, 415 not multipart or a file of the other kind, 422 a bad field or an input the model cannot
read (not a video, truncated, too long, ...), 404 no such model or page, 503 busy or timed out (with Retry-After).
Anything else is a bug (or a library refusing this hardware): 500 with the CLI's one line for it (what failed, and the
file holding its traceback and ``lrcn doctor``'s report), logged with its traceback on the server; the server stays
up.
"""
from __future__ import annotations

import logging

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from lrcn.errors import LrcnError

log = logging.getLogger("lrcn.serve")


class ApiError(HTTPException):
    """An error a client caused (or a busy server), with its status; FastAPI lets it through form parsing."""

    def __init__(self, status: int, message: str, headers: dict | None = None):
        super().__init__(status, one_line(message), headers)


def one_line(text: object, limit: int = 400) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def error(status: int, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": one_line(message)}, status, headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, e: StarletteHTTPException):
        text = e.detail if e.status_code not in (404, 405) or isinstance(e, ApiError) else \
            f"{request.method} {request.url.path}: {e.detail.lower()}"
        return error(e.status_code, text, getattr(e, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, e: RequestValidationError):
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if request.method == "POST" and kind != "multipart/form-data":
            return error(415, f"expected a multipart/form-data upload, got {kind or 'no content type'}")
        first = e.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query"))
        more = f" (and {len(e.errors()) - 1} more)" if len(e.errors()) > 1 else ""
        return error(422, f"{where or 'request'}: {first.get('msg', 'invalid')}{more}")

    @app.exception_handler(LrcnError)
    async def unreadable(request: Request, e: LrcnError):
        return error(422, str(e))

    @app.exception_handler(Exception)
    async def bug(request: Request, e: Exception):
        return error(500, bug_line_logged(f"{request.method} {request.url.path}", e))


def bug_line_logged(what: str, e: BaseException) -> str:
    """The one line a client gets for a bug; its traceback goes to the server's log and a crash report."""
    from lrcn.doctor import bug_line, bug_report

    log.error("%s failed", what, exc_info=e)
    return bug_line(e, bug_report(e))
