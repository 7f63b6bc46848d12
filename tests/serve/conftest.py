"""What the serve tests share: tiny activity, caption and describe runs trained once per session (as
``test_predict_contract`` trains them), their models, and real servers (uvicorn on 127.0.0.1, in a thread)."""
import contextlib
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def lrcn_serve(runs, *flags):
    """``lrcn serve RUNS... FLAGS`` in its own process, as a user starts it, until it answers /healthz; Ctrl-C at
    the end. Yields (base URL, the process, a dict that receives its ``stderr`` once it has stopped)."""
    import httpx

    port = free_port()
    url, out = f"http://127.0.0.1:{port}", {}
    server = subprocess.Popen([sys.executable, "-m", "lrcn", "serve", *map(str, runs), "--port", str(port),
                               *map(str, flags)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 180
        while True:
            assert server.poll() is None and time.monotonic() < deadline, "lrcn serve did not start"
            try:
                httpx.get(url + "/healthz", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.3)
        yield url, server, out
    finally:
        server.send_signal(signal.SIGINT)
        out["stderr"] = server.communicate(timeout=60)[1]
