"""``lrcn serve``: the HTTP API, the web page and the live stream, all on the predictor contract (``lrcn.load``).

- :mod:`~lrcn.serve.settings`  the limits a server holds under abuse (``ServeLimits``, also the CLI's flags)
- :mod:`~lrcn.serve.work`      a bounded queue in front of a fixed number of model workers (503 when full)
- :mod:`~lrcn.serve.uploads`   the request-body cap (413) and reading one uploaded file
- :mod:`~lrcn.serve.errors`    every error is ``{"error": "<one line>"}``, never a traceback
- :mod:`~lrcn.serve.models`    the loaded models, by name
- :mod:`~lrcn.serve.routes`    the ``/v1`` endpoints; :mod:`~lrcn.serve.stream` the ``/v1/stream`` WebSocket
- :mod:`~lrcn.serve.pages`     the page at ``/`` and offline ``/docs``; :mod:`~lrcn.serve.app` puts them together

Nothing here is imported by the other commands (FastAPI and uvicorn load only for ``lrcn serve``).
"""
