"""The work queue under load: a fixed number of model workers, a bounded wait (503 + Retry-After beyond it), a
per-request timeout, /healthz answering while a video is being classified, and no temporary file left behind.

The model's work is made as long as each test needs by a gate: the real predictor, which waits for the test to open
the gate before it predicts."""
import concurrent.futures
import os
import tempfile
import threading
import time

import httpx
import pytest

from conftest import serving
from lrcn.serve.app import create_app
from lrcn.serve.models import Models
from lrcn.serve.settings import ServeLimits


class Gated:
    """A predictor whose ``predict`` first waits for ``gate`` (a ``threading.Event``); otherwise the real one."""

    def __init__(self, inner, gate: threading.Event):
        self.inner, self.gate, self.task = inner, gate, inner.task
        self.classes = inner.classes

    def with_options(self, **options):
        return Gated(self.inner.with_options(**options), self.gate)

    def predict(self, x, name=None):
        self.gate.wait(30)
        return self.inner.predict(x, name)

    def info(self):
        return self.inner.info()


@pytest.fixture
def gated(models):
    gate = threading.Event()
    yield Models([Gated(models.by_name["activity-tiny"], gate)]), gate
    gate.set()


def classify(url, video, timeout=60):
    return httpx.post(url + "/v1/classify", files={"video": (video.name, video.read_bytes())},
                      data={"timeline": "false"}, timeout=timeout)


def test_healthz_answers_while_a_video_is_being_classified(gated, runs):
    models, gate = gated
    with serving(create_app(models)) as url, concurrent.futures.ThreadPoolExecutor(1) as pool:
        busy = pool.submit(classify, url, runs["activity"][1])
        while httpx.get(url + "/healthz").json()["work"]["running"] == 0:
            time.sleep(0.02)
        start = time.monotonic()
        health = httpx.get(url + "/healthz", timeout=5)
        assert health.status_code == 200 and time.monotonic() - start < 1.0
        assert health.json()["work"] == {"workers": 1, "running": 1, "waiting": 0, "capacity": 9}
        gate.set()
        assert busy.result().status_code == 200


def test_a_full_queue_answers_503_with_retry_after_and_never_piles_up_threads(gated, runs):
    models, gate = gated
    video = runs["activity"][1]
    app = create_app(models, ServeLimits(workers=1, queue=2))
    with serving(app) as url, \
            concurrent.futures.ThreadPoolExecutor(8) as pool:
        accepted = [pool.submit(classify, url, video) for _ in range(3)]  # 1 running + 2 waiting
        while httpx.get(url + "/healthz").json()["work"]["waiting"] < 2:
            time.sleep(0.02)
        refused = [classify(url, video) for _ in range(5)]
        assert all(r.status_code == 503 and int(r.headers["Retry-After"]) >= 1 for r in refused)
        assert "busy" in refused[0].json()["error"]
        assert len(app.state.work.pool._threads) == 1  # one worker thread, however many requests
        gate.set()
        assert [f.result().status_code for f in accepted] == [200] * 3
        assert classify(url, video).status_code == 200  # the slots are free again


def test_a_request_past_the_timeout_answers_503_and_frees_its_slot_when_done(gated, runs):
    models, gate = gated
    video = runs["activity"][1]
    with serving(create_app(models, ServeLimits(workers=1, queue=0, timeout=0.5))) as url:
        start = time.monotonic()
        late = classify(url, video)
        assert late.status_code == 503 and "timed out after 0.5 s" in late.json()["error"]
        assert time.monotonic() - start < 5
        assert classify(url, video).status_code == 503  # the timed-out work still holds the only worker
        gate.set()
        while httpx.get(url + "/healthz").json()["work"]["running"]:
            time.sleep(0.02)
        assert classify(url, video).status_code == 200


def test_no_temporary_file_outlives_its_request(server, runs):
    video = runs["activity"][1]
    spooled = os.urandom(3 * 1024 * 1024)  # above Starlette's 1 MB: spooled to a temporary file

    def temporary_files():
        tmp = tempfile.gettempdir()
        names = {n for n in os.listdir(tmp) if n.startswith("lrcn-preview-")}
        fds = set()
        for fd in os.listdir("/proc/self/fd"):
            try:
                target = os.readlink(f"/proc/self/fd/{fd}")
            except OSError:
                continue
            if target.startswith(tmp) or target.endswith("(deleted)"):
                fds.add(target)
        return names, fds

    before = temporary_files()
    assert httpx.post(server + "/v1/classify", files={"video": ("noise.avi", spooled)}, timeout=60).status_code == 422
    assert httpx.post(server + "/v1/preview", files={"video": (video.name, video.read_bytes())}, timeout=60).status_code == 200
    deadline = time.monotonic() + 5
    while temporary_files() != before and time.monotonic() < deadline:  # the files close as the responses end
        time.sleep(0.05)
    assert temporary_files() == before
