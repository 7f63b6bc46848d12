"""A model that fails inside (a bug, or a library refusing this hardware, as nn.LSTM's bf16 autocast does on an AVX2
CPU): HTTP answers 500 with the CLI's one line for it and the server stays up; a live stream gets the line and is
closed with code 1011 and the reason; the traceback goes to a crash report."""
import httpx
import pytest
from websockets.exceptions import ConnectionClosedError
from websockets.sync.client import connect

from conftest import serving
from lrcn.features.extractor import Extractor
from lrcn.serve.app import create_app
from test_stream import png, receive, ws_url

pytestmark = pytest.mark.cpu_kinds  # make test runs these again held to AVX2

REFUSAL = "could not create a primitive descriptor for the LSTM forward propagation primitive"


@pytest.fixture
def refusing(monkeypatch, tmp_path):
    def engine(self):
        raise RuntimeError(REFUSAL)

    monkeypatch.setattr(Extractor, "engine", property(engine))
    monkeypatch.setenv("LRCN_CACHE", str(tmp_path))  # the crash reports
    return tmp_path / "crashes"


def test_a_failing_model_is_a_500_with_one_line_and_the_server_stays_up(models, runs, refusing):
    _, video = runs["activity"]
    with serving(create_app(models)) as url:
        for _ in range(2):
            with open(video, "rb") as f:
                r = httpx.post(url + "/v1/classify", files={"video": ("v.avi", f)}, timeout=60)
            assert r.status_code == 500 and list(r.json()) == ["error"]
            line = r.json()["error"]
            assert line.startswith(f"internal error (RuntimeError: {REFUSAL}): a bug in lrcn, please report it")
            assert str(refusing) in line and "Traceback" not in r.text
        assert httpx.get(url + "/healthz").json()["status"] == "ok"
    assert len(list(refusing.glob("lrcn-crash-*.txt"))) >= 1


def test_a_failing_model_closes_a_live_stream_with_the_reason(models, runs, refusing):
    import numpy as np

    frame = np.zeros((64, 64, 3), np.uint8)
    with serving(create_app(models)) as url, connect(ws_url(url, "?model=activity-tiny")) as ws:
        receive(ws)
        ws.send(png(frame))
        answer = receive(ws)
        assert answer["frame"] == 0 and answer["error"].startswith(f"internal error (RuntimeError: {REFUSAL})")
        with pytest.raises(ConnectionClosedError) as closed:
            ws.recv(timeout=30)
        assert closed.value.rcvd.code == 1011 and closed.value.rcvd.reason.startswith("internal error (RuntimeError")
        assert httpx.get(url + "/healthz").json()["status"] == "ok"
