"""Uploads: the request-body cap, and one uploaded file as the bytes ``predict(bytes, name=...)`` takes.

The cap holds before anything is parsed: a declared ``Content-Length`` above it is refused without reading a byte,
and a body that turns out longer (chunked, or lying about its length) is cut off at the cap. Either way: 413.
Starlette spools a form's files above 1 MB to anonymous temporary files (unlinked from the start, so nothing is
left on disk whatever happens); a file is read into memory only once a model worker is free for it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO

from fastapi import UploadFile

from lrcn.serve.errors import ApiError, error

KINDS = {"video": ("video/",), "image": ("image/",)}
NEUTRAL = ("", "application/octet-stream", "binary/octet-stream")  # no claim: the decoder decides


class TooLarge(ApiError):
    def __init__(self, limit: int):
        super().__init__(413, f"request body above the cap of {limit} bytes (the server's --max-upload-mb)")


class BodyLimit:
    """ASGI middleware: refuse an HTTP request body longer than ``max_bytes`` with 413."""

    def __init__(self, app, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            response = error(413, TooLarge(self.max_bytes).detail) if declared.isdigit() else \
                error(400, "Content-Length is not a number")
            return await response(scope, receive, send)
        received = 0
        started = False

        async def counted():
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise TooLarge(self.max_bytes)
            return message

        async def watched(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except TooLarge as e:  # raised where the app was not reading through FastAPI's handlers
            if not started:
                await error(413, e.detail)(scope, receive, send)


@dataclass
class Upload:
    name: str
    file: BinaryIO  # Starlette's spooled temporary file

    def read(self) -> bytes:
        """The whole file (called on a model worker: an upload enters memory only when its turn has come)."""
        self.file.seek(0)
        return self.file.read()


def check_upload(file: UploadFile, kind: str) -> Upload:
    """An uploaded ``kind`` ("video" or "image") file; 415 for a file declared to be another kind (an image sent
    to a video endpoint), otherwise the decoder judges it."""
    name = file.filename or "upload"
    declared = (file.content_type or "").split(";")[0].strip().lower()
    if declared not in NEUTRAL and not declared.startswith(KINDS[kind]):
        raise ApiError(415, f"{name}: {declared} is not {'an' if kind == 'image' else 'a'} {kind}")
    return Upload(name, file.file)
