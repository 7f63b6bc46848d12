"""A bounded flood of bad and heavy requests on 127.0.0.1 (slow): a few hundred requests within a minute (garbage
bytes, wrong types, huge declared lengths, cut-off bodies, concurrent real uploads) against ``lrcn serve`` in its own
process. It stays up, never answers 5xx but the 503 of a full queue (with Retry-After), its memory stays bounded,
and it answers a good request right after. Run: python -m pytest -m slow tests/serve/test_flood.py"""
import collections
import concurrent.futures
import random
import socket
import threading
import time

import httpx
import pytest

from conftest import lrcn_serve

pytestmark = pytest.mark.slow

REQUESTS, CONCURRENCY, SECONDS = 400, 24, 60
CAP_MB = 2


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024


def raw(port: int, data: bytes, read: bool = True) -> int | None:
    """Send hand-made bytes; the response's status, or None when the server closed without one (fair for junk)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(data)
        if not read:
            return None
        reply = s.recv(4096)
    return int(reply.split(b" ", 2)[1]) if reply.startswith(b"HTTP/1.1 ") else None


NAMES = ["garbage video", "garbage mp4", "garbage jpeg", "video as image", "garbage preview", "garbage retrieve",
         "json body", "cut multipart", "3 MB body", "random beam", "random path", "DELETE", "declared 100 TB",
         "declared 100 KB, sent 300 B", "raw junk", "real video", "real video"]


def attacks(port: int, video: bytes, image: bytes):
    url = f"http://127.0.0.1:{port}"
    junk = random.randbytes

    def post(path, **kw):
        response = httpx.post(url + path, timeout=60, **kw)
        assert response.status_code != 503 or int(response.headers["retry-after"]) >= 1  # when to come back
        return response.status_code

    return [
        lambda: post("/v1/classify", files={"video": ("x.avi", junk(random.randint(0, 300_000)))}),
        lambda: post("/v1/describe", files={"video": ("x.mp4", junk(50_000), "video/mp4")}),
        lambda: post("/v1/caption", files={"image": ("x.jpg", junk(20_000), "image/jpeg")}),
        lambda: post("/v1/caption", files={"image": ("v.avi", video, "video/x-msvideo")}),
        lambda: post("/v1/preview", files={"video": ("x", junk(1000))}),
        lambda: post("/v1/retrieve", files=[("images", ("a.jpg", junk(500)))] * 3, data={"sentences": ["a", "b"]}),
        lambda: post("/v1/classify", content=junk(10_000), headers={"content-type": "application/json"}),
        lambda: post("/v1/classify", content=b"--x\r\nContent-Disposition: form-data; name=\"video\"; filename=\"a\"\r\n\r\n"
                                             + junk(5000), headers={"content-type": "multipart/form-data; boundary=x"}),
        lambda: post("/v1/classify", content=junk(3 * 1024 * 1024)),  # above the cap
        lambda: post("/v1/caption", files={"image": ("i.jpg", image)}, data={"beam": str(random.randint(-5, 50))}),
        lambda: httpx.get(url + "/v1/" + junk(8).hex(), timeout=30).status_code,
        lambda: httpx.delete(url + "/v1/classify", timeout=30).status_code,
        lambda: raw(port, b"POST /v1/classify HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999\r\n"
                          b"Content-Type: multipart/form-data; boundary=x\r\n\r\n--x"),
        lambda: raw(port, b"POST /v1/caption HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + junk(300), read=False),
        lambda: raw(port, junk(2000)),
        lambda: post("/v1/classify", files={"video": ("v.avi", video)}),  # real work, concurrently
        lambda: post("/v1/classify", files={"video": ("v.avi", video)}),
    ]


def test_a_bounded_flood_leaves_the_server_up_bounded_and_answering(runs):
    flags = ("--queue", 4, "--max-upload-mb", CAP_MB, "--timeout", 30)
    with lrcn_serve([r for r, _ in runs.values()], *flags) as (url, server, out):
        port = int(url.rsplit(":", 1)[1])
        video, image = runs["activity"][1].read_bytes(), runs["caption"][1].read_bytes()
        good = lambda: httpx.post(url + "/v1/classify", files={"video": ("v.avi", video)}, timeout=60)  # noqa: E731
        assert good().status_code == 200
        before = rss_mb(server.pid)
        peak, stop = [before], threading.Event()

        def sample():
            while not stop.wait(0.2):
                peak.append(rss_mb(server.pid))

        threading.Thread(target=sample, daemon=True).start()
        random.seed(0)
        kinds = attacks(port, video, image)
        errors, start = [], time.monotonic()

        def one(i):
            if time.monotonic() - start > SECONDS:
                return "skipped"
            try:
                return kinds[i % len(kinds)]()
            except (httpx.TransportError, OSError) as e:  # the server closed a connection it refused: not a 5xx
                errors.append(f"{NAMES[i % len(kinds)]}: {type(e).__name__}")
                return None

        with concurrent.futures.ThreadPoolExecutor(CONCURRENCY) as pool:
            statuses = list(pool.map(one, random.sample(range(REQUESTS), REQUESTS)))
        stop.set()
        answered = [s for s in statuses if isinstance(s, int)]
        print(f"\nflood: {len(statuses)} requests in {time.monotonic() - start:.0f} s, {len(answered)} answered, "
              f"{statuses.count('skipped')} skipped past {SECONDS} s, connections closed unanswered: "
              f"{dict(collections.Counter(errors))}; statuses "
              f"{ {s: answered.count(s) for s in sorted(set(answered))} }; RSS {before:.0f} MB before, "
              f"peak {max(peak):.0f} MB")
        assert server.poll() is None, "the server died"
        assert all(s < 500 or s == 503 for s in answered), sorted(set(answered))
        assert len(answered) >= REQUESTS // 2
        assert max(peak) < before + 1024, f"memory grew from {before:.0f} to {max(peak):.0f} MB"
        t0 = time.monotonic()
        after = good()
        assert after.status_code == 200 and time.monotonic() - t0 < 30
        assert after.json()["label"] in ("MoveLeft", "MoveRight")
    assert "Traceback" not in out["stderr"] and " 500 " not in out["stderr"], out["stderr"][-3000:]
