"""``/v1/stream``: frames sent one by one over a WebSocket give the running prediction after each, the LSTM's state
carried: the same numbers as the whole video's timeline; a bad frame is answered alone; the limits hold."""
import io
import json

import numpy as np
import pytest
from PIL import Image
from websockets.sync.client import connect

import lrcn
from conftest import serving
from lrcn.data.video import read_video
from lrcn.serve.app import create_app
from lrcn.serve.models import Models
from lrcn.serve.settings import ServeLimits

pytestmark = pytest.mark.cpu_kinds  # make test runs these again held to AVX2


def ws_url(url, query=""):
    return url.replace("http://", "ws://") + "/v1/stream" + query


def png(frame: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(frame).save(buffer, "PNG")  # lossless: the server sees the very frame
    return buffer.getvalue()


def receive(ws):
    return json.loads(ws.recv(timeout=60))


def test_frames_streamed_one_by_one_give_the_whole_videos_timeline(server, runs):
    run, video = runs["activity"]
    frames = read_video(video)
    timeline = np.array(lrcn.load(run, timeline=True).predict(frames)["timeline"])  # (T, C)
    with connect(ws_url(server, "?model=activity-tiny&top_k=1")) as ws:
        assert receive(ws) == {"model": "activity-tiny", "classes": ["MoveLeft", "MoveRight"]}
        answers = []
        for frame in frames:
            ws.send(png(frame))
            answers.append(receive(ws))
        assert [a["frame"] for a in answers] == list(range(len(frames)))
        np.testing.assert_allclose([a["probs"] for a in answers], timeline, atol=2e-3)
        assert all(len(a["top"]) == 1 and a["label"] == a["top"][0]["label"] for a in answers)
        ws.send(b"not an image")
        assert "frame 20: not an image" in receive(ws)["error"]
        ws.send('{"reset": true}')
        assert receive(ws) == {"reset": True}
        ws.send(png(frames[0]))
        again = receive(ws)
        assert again["frame"] == 0 and np.allclose(again["probs"], timeline[0], atol=2e-3)  # the LSTM forgot


def test_a_stream_without_an_activity_model_or_over_the_limit_is_refused_in_one_line(models, runs):
    with serving(create_app(Models([models.by_name["caption-tiny"]]))) as url, connect(ws_url(url)) as ws:
        assert "no activity model is loaded" in receive(ws)["error"]
    with serving(create_app(models, ServeLimits(max_streams=1))) as url, connect(ws_url(url)) as first:
        receive(first)
        with connect(ws_url(url)) as second:
            assert "--max-streams" in receive(second)["error"]
        first.send(png(read_video(runs["activity"][1])[0]))
        assert receive(first)["frame"] == 0  # the open stream goes on
