"""What the serve tests share: tiny activity, caption and describe runs trained once per session (as
``test_predict_contract`` trains them), their models, and real servers (uvicorn on 127.0.0.1, in a thread)."""
import contextlib
import threading
import time

import pytest

from cli import free_port, lrcn_serve  # noqa: F401 - the serve tests import them from here

BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--no-first-run", "--autoplay-policy=no-user-gesture-required"]


@pytest.fixture(scope="session")
def runs(tmp_path_factory):
    """{task: (run folder named <task>-tiny, a sample input)}."""
    from test_predict_contract import train_activity, train_caption, train_describe

    root = tmp_path_factory.mktemp("serve-runs")
    out = {}
    for task, train in (("activity", train_activity), ("caption", train_caption), ("describe", train_describe)):
        run, sample = train(root / task, root / "cache")
        out[task] = (run.rename(root / f"{task}-tiny"), sample)
    return out


@pytest.fixture(scope="session")
def models(runs):
    from lrcn.serve.models import Models

    return Models.load([run for run, _ in runs.values()], device="cpu")


@contextlib.contextmanager
def serving(app):
    """``app`` on a free port of 127.0.0.1 for the block: its base URL."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", timeout_keep_alive=5))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)


@pytest.fixture(scope="session")
def server(models):
    """One server with the three tiny models and the default limits, for the session."""
    from lrcn.serve.app import create_app

    with serving(create_app(models)) as url:
        yield url


