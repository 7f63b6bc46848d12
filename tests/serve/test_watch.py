"""``lrcn watch``: the running label of a file, of a file still being written and of a stream URL, each frame through
the CNN once with the LSTM carried on (the same numbers as the whole video's timeline); Ctrl-C ends it cleanly."""
import functools
import http.server
import json
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

import lrcn
from cli import lrcn as run_cli
from lrcn.data.live import live_frames
from lrcn.errors import LrcnError


def lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines()]


@pytest.fixture(scope="module")
def timeline(runs):
    run, video = runs["activity"]
    return np.array(lrcn.load(run, timeline=True).predict(video)["timeline"])  # (T, C)


def check_updates(updates: list[dict], timeline: np.ndarray, every: int) -> None:
    """One update after every ``every`` frames (and one after the last), each the timeline's row at its frame."""
    frames = len(timeline)
    assert [u["frame"] for u in updates] == [*range(every - 1, frames, every), *([frames - 1] if frames % every else [])]
    for u in updates:
        row = timeline[u["frame"]]
        assert u["label"] == ["MoveLeft", "MoveRight"][int(row.argmax())] and abs(u["score"] - row.max()) < 2e-3


def test_watch_prints_the_running_label_of_a_file_every_n_frames(runs, timeline):
    run, video = runs["activity"]
    updates = lines(run_cli("watch", run, video, "--every", 6, "--json").stdout)
    check_updates(updates, timeline, 6)
    assert updates[-1]["time"] == pytest.approx(19 / 25) and len(updates[-1]["top"]) == 2


@pytest.mark.slow
def test_watch_follows_a_file_still_being_written_and_a_stream_url(runs, timeline, tmp_path):
    run, video = runs["activity"]
    data, growing = video.read_bytes(), tmp_path / "recording.avi"
    growing.write_bytes(data[:1500])

    def write_the_rest():
        for i in range(1500, len(data), 1500):
            time.sleep(0.4)
            with open(growing, "ab") as f:
                f.write(data[i : i + 1500])

    writer = threading.Thread(target=write_the_rest)
    writer.start()
    updates = lines(run_cli("watch", run, growing, "--every", 5, "--json", "--idle", 3).stdout)
    writer.join()
    check_updates(updates, timeline, 5)

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(video.parent))
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as httpd:
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{httpd.server_address[1]}/{video.name}"
        check_updates(lines(run_cli("watch", run, url, "--every", 7, "--json").stdout), timeline, 7)
        httpd.shutdown()


@pytest.mark.slow
def test_ctrl_c_ends_watch_cleanly(runs, tmp_path):
    run, video = runs["activity"]
    growing = tmp_path / "endless.avi"
    growing.write_bytes(video.read_bytes()[:-600])  # a recording that stopped mid-way and may go on: watch waits
    watch = subprocess.Popen([sys.executable, "-m", "lrcn", "watch", str(run), str(growing), "--every", "1", "--json",
                              "--idle", "600"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = watch.stdout.readline()  # it has started and printed the first update
    watch.send_signal(signal.SIGINT)
    out, err = watch.communicate(timeout=60)
    assert watch.returncode == 0, err
    assert json.loads(first)["frame"] == 0 and all(json.loads(line) for line in out.splitlines())
    assert "stopped after" in err and "Traceback" not in err


def test_a_source_that_cannot_be_read_is_one_line(runs, tmp_path):
    run, _ = runs["activity"]
    (tmp_path / "noise.bin").write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    out = run_cli("watch", run, tmp_path / "missing.avi", check=False)
    assert out.returncode == 1 and out.stderr.strip() == f"error: {tmp_path / 'missing.avi'}: no such file"
    with pytest.raises(LrcnError, match="no such camera device"):
        next(live_frames("/dev/video99"))
    with pytest.raises(LrcnError, match="noise.bin: not a decodable video"):
        next(live_frames(str(tmp_path / "noise.bin"), idle=0))
