"""``create_app(models, limits)``: the FastAPI application of ``lrcn serve`` (the API, the page, the live stream)."""
from __future__ import annotations

import contextlib

from fastapi import FastAPI

from lrcn import __version__
from lrcn.serve import errors, pages, stream
from lrcn.serve.models import Models
from lrcn.serve.routes import build_router
from lrcn.serve.settings import ServeLimits
from lrcn.serve.uploads import BodyLimit
from lrcn.serve.work import WorkQueue

DESCRIPTION = """LRCN (Donahue et al., CVPR 2015) as a service: activity recognition with the per-frame timeline,
image captioning, image-sentence retrieval and video description, by the models this server was started with.
Every answer is one JSON object, the same as a `--json` line of the `lrcn` command; every error is
`{"error": "<one line>"}`. Live recognition: the WebSocket `/v1/stream` (see the page at `/`)."""


def create_app(models: Models, limits: ServeLimits | None = None) -> FastAPI:
    limits = limits or ServeLimits()
    work = WorkQueue(limits.workers, limits.queue, limits.timeout)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        work.close()

    app = FastAPI(title="lrcn", version=__version__, description=DESCRIPTION, docs_url=None, redoc_url=None,
                  lifespan=lifespan)
    app.state.models, app.state.limits, app.state.work = models, limits, work
    app.state.streams = stream.Streams(limits.max_streams)
    app.add_middleware(BodyLimit, max_bytes=limits.max_upload_bytes)
    errors.install(app)
    app.include_router(build_router(limits))
    app.include_router(stream.router)
    pages.mount(app)
    return app
