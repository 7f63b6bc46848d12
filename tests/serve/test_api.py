"""The HTTP API as a client sees it (httpx against a real server): every endpoint answers what ``lrcn.load(RUN)``
answers, and every bad request is a 4xx with one line ``{"error"}``, never a 500 or a traceback."""
import io
import socket

import httpx
import numpy as np
import pytest
from PIL import Image

import lrcn
from conftest import serving
from lrcn.serve.app import create_app
from lrcn.serve.settings import ServeLimits


def post(url, path, files=None, data=None, **kw):
    return httpx.post(url + path, files=files, data=data, timeout=60, **kw)


def raw_status(url, request: bytes) -> int:
    """The status of a hand-written HTTP request (one a well-behaved client library would not send)."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(request)
        return int(s.recv(4096).split(b" ", 2)[1])


def one_line_error(response, status):
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and "\n" not in body["error"] and "Traceback" not in body["error"]
    return body["error"]


def test_healthz_and_models_name_each_loaded_model_with_its_task(server):
    health = httpx.get(server + "/healthz").json()
    assert health["status"] == "ok" and health["models"] == ["activity-tiny", "caption-tiny", "describe-tiny"]
    assert health["work"] == {"workers": 1, "running": 0, "waiting": 0, "capacity": 9}
    models = {m["name"]: m for m in httpx.get(server + "/v1/models").json()["models"]}
    assert models["activity-tiny"]["task"] == "activity" and models["activity-tiny"]["classes"] == ["MoveLeft", "MoveRight"]
    assert models["caption-tiny"]["vocab_size"] > 0 and models["describe-tiny"]["vocab_size"] > 0
    assert all("config" in m and "path" not in m for m in models.values())  # what it is, not where it lives


def test_classify_gives_the_label_top_k_and_the_per_frame_timeline_of_the_predictor(server, runs):
    run, video = runs["activity"]
    answer = post(server, "/v1/classify", {"video": (video.name, video.read_bytes(), "video/x-msvideo")},
                  {"top_k": "1"}).json()
    expected = lrcn.load(run, top_k=1, timeline=True).predict(video.read_bytes(), name=video.name)
    assert answer == {**expected, "model": "activity-tiny", "classes": ["MoveLeft", "MoveRight"]}
    assert np.array(answer["timeline"]).shape == (answer["frames"], 2) == (20, 2)
    plain = post(server, "/v1/classify", {"video": ("clip", video.read_bytes())}, {"timeline": "false"}).json()
    assert "timeline" not in plain and plain["path"] == "clip" and len(plain["top"]) == 2


def test_caption_takes_the_cli_decoding_options(server, runs):
    run, image = runs["caption"]
    upload = {"image": (image.name, image.read_bytes(), "image/jpeg")}
    answer = post(server, "/v1/caption", upload, {"beam": "3"}).json()
    assert answer == {**lrcn.load(run, beam=3).predict(image), "path": image.name, "model": "caption-tiny"}
    assert len(answer["alternatives"]) == 2
    sampled = post(server, "/v1/caption", upload, {"sample": "4", "temperature": "0.7", "seed": "3"}).json()
    assert sampled["caption"] == lrcn.load(run, sample=4, temperature=0.7, seed=3).predict(image)["caption"]


def test_describe_gives_the_sentence_and_the_sr_tuple(server, runs):
    run, video = runs["describe"]
    answer = post(server, "/v1/describe", {"video": (video.name, video.read_bytes())}, {"model": "describe-tiny"}).json()
    assert answer == {**lrcn.load(run).predict(video), "path": video.name, "model": "describe-tiny"}
    assert set(answer["sr"]) == {"activity", "tool", "object", "source", "target"}


def test_retrieve_ranks_sentences_for_an_image_and_images_for_a_sentence(server, runs):
    run, image = runs["caption"]
    images = sorted(image.parent.glob("*.jpg"))[:3]
    sentences = ["a red circle", "two blue squares", "a green triangle above a square"]
    files = [("images", (p.name, p.read_bytes(), "image/jpeg")) for p in images]
    answer = post(server, "/v1/retrieve", files, {"sentences": sentences}).json()
    expected = lrcn.load(run).rank([p.read_bytes() for p in images], sentences)
    assert answer["scores"] == expected["scores"] and answer["normalised"]
    assert [[r["index"] for r in row] for row in answer["annotation"]] == expected["annotation"]
    assert [[r["image"] for r in row] for row in answer["search"]] == [[images[i].name for i in row]
                                                                     for row in expected["search"]]
    one = post(server, "/v1/retrieve", files[:1], {"sentences": sentences[:2]}).json()
    assert not one["normalised"] and [r["sentence"] for r in one["annotation"][0]][0] in sentences[:2]


def test_preview_gives_the_same_frames_as_webm(server, runs):
    from lrcn.data.video import read_video

    _, video = runs["activity"]
    response = post(server, "/v1/preview", {"video": (video.name, video.read_bytes())})
    assert response.status_code == 200 and response.headers["content-type"] == "video/webm"
    assert len(read_video(response.content)) == len(read_video(video))


@pytest.mark.parametrize("path,field", [("/v1/classify", "video"), ("/v1/describe", "video"), ("/v1/caption", "image")])
def test_a_bad_upload_is_one_line_and_4xx(server, runs, path, field):
    _, video = runs["activity"]
    _, image = runs["caption"]
    good, other = (video, image) if field == "video" else (image, video)
    kind = {"video": "video/x-msvideo", "image": "image/jpeg"}
    other_kind = kind["image" if field == "video" else "video"]
    assert "not a" in one_line_error(post(server, path, {field: ("x.bin", b"\x00garbage" * 100)}), 422)
    assert "0 bytes" in one_line_error(post(server, path, {field: ("empty", b"")}), 422)
    assert f"is not a{'n' if field == 'image' else ''} {field}" in one_line_error(
        post(server, path, {field: (other.name, other.read_bytes(), other_kind)}), 415)
    if field == "image":  # undeclared, a video is not an image (FFmpeg reads a still image as a one-frame video)
        assert "not an image" in one_line_error(post(server, path, {field: (other.name, other.read_bytes(), "application/octet-stream")}), 422)
    assert "multipart" in one_line_error(post(server, path, content=b'{"video": 1}',
                                              headers={"content-type": "application/json"}), 415)
    assert "multipart" in one_line_error(post(server, path), 415)
    assert field in one_line_error(post(server, path, {"other": ("x", b"x")}), 422)  # the file field missing
    assert "no model named" in one_line_error(post(server, path, {field: (good.name, good.read_bytes())},
                                                   {"model": "nope"}), 404)
    assert "not a" in one_line_error(post(server, path, {field: (good.name, good.read_bytes())},
                                          {"model": "caption-tiny" if field == "video" else "activity-tiny"}), 422)


def test_a_truncated_upload_is_one_line_and_4xx(server, runs):
    _, video = runs["activity"]
    _, image = runs["caption"]
    data = video.read_bytes()
    for cut in (2000, len(data) // 2):
        assert "not a decodable video" in one_line_error(post(server, "/v1/classify",
                                                              {"video": ("cut.avi", data[:cut])}), 422)
    assert "truncated" in one_line_error(post(server, "/v1/caption", {"image": ("cut.jpg", image.read_bytes()[:-200])}),
                                         422)


def test_bad_fields_methods_and_paths_are_one_line(server, runs):
    _, image = runs["caption"]
    upload = {"image": (image.name, image.read_bytes())}
    assert "beam" in one_line_error(post(server, "/v1/caption", upload, {"beam": "500"}), 422)
    assert "beam" in one_line_error(post(server, "/v1/caption", upload, {"beam": "two"}), 422)
    assert "alternatives" in one_line_error(post(server, "/v1/caption", upload, {"beam": "2", "sample": "3"}), 422)
    assert "temperature" in one_line_error(post(server, "/v1/caption", upload, {"temperature": "0"}), 422)
    assert "sentences" in one_line_error(post(server, "/v1/retrieve", {"images": (image.name, image.read_bytes())}), 422)
    assert "not found" in one_line_error(httpx.get(server + "/v1/nothing"), 404)
    assert "not allowed" in one_line_error(httpx.get(server + "/v1/classify"), 405)


def test_the_limits_hold_uploads_frames_pixels_and_retrieval_sizes(models, runs):
    _, video = runs["activity"]
    _, image = runs["caption"]
    limits = ServeLimits(max_upload_mb=0.05, max_frames=10, max_pixels=100_000, max_images=2, max_sentences=2)
    with serving(create_app(models, limits)) as url:
        big = np.random.default_rng(0).integers(0, 256, 60_000, dtype=np.uint8).tobytes()
        assert "--max-upload-mb" in one_line_error(post(url, "/v1/classify", {"video": ("big.avi", big)}), 413)
        # chunked: no Content-Length to refuse it by. A well-formed form, so that the parser takes the first chunk
        # and the cap is what stops the second (garbage would be a 400 from the parser whenever it came first)
        form = (b'--x\r\nContent-Disposition: form-data; name="video"; filename="big.avi"\r\n'
                b"Content-Type: video/x-msvideo\r\n\r\n" + big + b"\r\n--x--\r\n")
        assert "--max-upload-mb" in one_line_error(
            post(url, "/v1/classify", content=iter([form[:30_000], form[30_000:]]),
                 headers={"content-type": "multipart/form-data; boundary=x"}), 413)
        assert raw_status(url, b"POST /v1/classify HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000000\r\n"
                               b"Content-Type: multipart/form-data; boundary=x\r\n\r\n--x") == 413  # refused unread
        assert "longer than 10 frames" in one_line_error(post(url, "/v1/classify", {"video": ("v.avi", video.read_bytes())}),
                                                         422)
        buffer = io.BytesIO()
        Image.new("RGB", (400, 300)).save(buffer, "PNG")
        assert "too large" in one_line_error(post(url, "/v1/caption", {"image": ("wide.png", buffer.getvalue())}), 422)
        files = [("images", (f"{i}.jpg", image.read_bytes())) for i in range(3)]
        assert "at most 2" in one_line_error(post(url, "/v1/retrieve", files, {"sentences": ["a", "b"]}), 422)
        assert httpx.get(url + "/healthz").status_code == 200  # and the server is still up
