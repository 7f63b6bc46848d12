"""``lrcn serve RUN_OR_EXPORT...``: the HTTP API, the web page and the live stream (FastAPI + uvicorn).

FastAPI and uvicorn are imported inside the command only, so that the other commands start as fast as before.
"""
from __future__ import annotations

import logging
from pathlib import Path

import typer

from lrcn.cli.answers import DEVICE
from lrcn.cli.apps import app
from lrcn.cli.options import config_options
from lrcn.serve.settings import ServeLimits  # a dataclass: imports neither FastAPI nor uvicorn

log = logging.getLogger("lrcn.serve")


@app.command()
@config_options(ServeLimits)
def serve(
    flags: dict,
    runs: list[Path] = typer.Argument(..., help="Activity, caption and describe run folders or exports, any mix."),
    host: str = typer.Option("127.0.0.1", help="Address to bind (0.0.0.0: every interface; think before you do)."),
    port: int = typer.Option(8000, min=0, max=65535, help="Port (0: any free one)."),
    device: str = DEVICE,
) -> None:
    """Serve models over HTTP: the page at /, the API at /v1 (OpenAPI docs at /docs), live recognition at /v1/stream."""
    from lrcn.extras import require_serve

    require_serve()  # one line naming the extra serve when FastAPI or uvicorn is missing
    import uvicorn

    from lrcn.config import check, resolve
    from lrcn.serve.app import create_app
    from lrcn.serve.models import Models

    limits = check(resolve(ServeLimits, flags))
    models = Models.load(runs, device=device)
    for m in models.info():
        log.info("model %s: %s", m["name"], m["task"])
    config = uvicorn.Config(create_app(models, limits), host=host, port=port, log_level="info",
                            limit_concurrency=4 * (limits.workers + limits.queue + limits.max_streams) + 16,
                            ws_max_size=min(limits.max_upload_bytes, 16 * 1024 * 1024), timeout_keep_alive=5,
                            timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    if port:
        log.info("the page: http://%s:%d/   the API's docs: http://%s:%d/docs", host, port, host, port)
    try:
        server.run()
    except KeyboardInterrupt:  # uvicorn has shut down gracefully, then passes Ctrl-C on: the way to stop, exit 0
        log.info("stopped")
