import av
import cv2
import numpy as np
import pytest
import torch

import lrcn.data.flow as flow_module
from lrcn.features.inputs import read_frames
from lrcn.data.flow import (FlowCache, compute_flow, flip_flow_images, negate_flow_x, read_flow_images, render_flow,
                            video_flow_images)
from lrcn.data.video import read_video, write_video
from lrcn.errors import LrcnError


def texture(h=96, w=128, seed=0):
    """A smooth random texture (flow needs gradients everywhere): (h, w, 3) uint8."""
    noise = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    return cv2.GaussianBlur(noise, (0, 0), 2)


def translated(image, dx, dy, steps=2):
    """Frames of ``image`` moving by (dx, dy) px per frame: content at x moves to x + dx."""
    return np.stack([np.roll(image, (t * dy, t * dx), axis=(0, 1)) for t in range(steps)])


def interior(a, margin=16):
    return a[..., margin:-margin, margin:-margin, :]


@pytest.mark.parametrize("method, size", [("dis", (96, 128)), ("farneback", (96, 128)), ("tvl1", (40, 48))])
def test_a_known_translation_gives_the_expected_channels(method, size):
    dx, dy = 2, -1
    flow = compute_flow(translated(texture(*size), dx, dy), method)
    assert flow.shape == (1, *size, 2) and flow.dtype == np.float32
    image = render_flow(flow)[0]
    margin = 8 if method == "tvl1" else 16
    got = np.median(interior(image, margin).reshape(-1, 3), axis=0)
    expected = [128 + 16 * dx, 128 + 16 * dy, 128 + 16 * np.hypot(dx, dy)]  # 160, 112, 163.8
    np.testing.assert_allclose(got, expected, atol=4)  # 4 levels = 1/4 px


@pytest.mark.parametrize("method", ["dis", "farneback", "tvl1"])
@pytest.mark.parametrize("h, w", [(1, 1), (8, 100), (9, 9)])
def test_tiny_frames_give_flow_of_their_size(method, h, w):
    frames = translated(texture(max(h, 4), max(w, 4)), 1, 0, steps=3)[:, :h, :w]  # DIS alone would crash on 8x100
    flow = compute_flow(np.ascontiguousarray(frames), method)
    assert flow.shape == (2, h, w, 2) and np.isfinite(flow).all()


def test_render_flow_follows_the_authors_arithmetic():
    flow = np.array([[0, 0], [1, -2], [0.5, 0.25], [10, 0], [-10, 0], [0, -9], [np.nan, np.inf]], np.float32)
    expected = [[128, 128, 128], [144, 96, 164], [136, 132, 137], [255, 128, 255], [0, 128, 255], [128, 0, 255],
                [128, 128, 128]]
    np.testing.assert_array_equal(render_flow(flow), expected)


def test_negating_x_is_exact_about_128_for_numpy_and_torch():
    v = np.array([0, 1, 112, 127, 128, 129, 144, 254, 255], np.uint8)
    expected = [255, 255, 144, 129, 128, 127, 112, 2, 1]
    np.testing.assert_array_equal(negate_flow_x(v), expected)
    np.testing.assert_array_equal(negate_flow_x(torch.from_numpy(v)).numpy(), expected)


def test_flipping_flow_images_equals_the_flow_of_mirrored_frames():
    frames = translated(texture(), 2, 1)
    flipped = flip_flow_images(render_flow(compute_flow(frames)))
    of_mirror = render_flow(compute_flow(frames[:, :, ::-1].copy()))
    diff = np.abs(interior(flipped).astype(int) - interior(of_mirror))
    assert np.median(diff) <= 2 and np.median(interior(flipped)[..., 0]) < 100  # x now points left: 128 - 32
    # The tensor layout (T, V, 3, H, W) of lrcn.data.transforms flips the same way.
    tensor = torch.from_numpy(render_flow(compute_flow(frames))).permute(0, 3, 1, 2)
    np.testing.assert_array_equal(flip_flow_images(tensor, channel_axis=-3).permute(0, 2, 3, 1).numpy(), flipped)


def test_a_constant_video_gives_exactly_zero_flow(tmp_path):
    path = tmp_path / "still.avi"
    write_video(path, np.full((6, 48, 64, 3), 90, np.uint8))
    for cache in (None, tmp_path / "cache"):
        images = read_flow_images(path, size=(32, 32), cache=cache)
        assert images.shape == (6, 32, 32, 3)
        assert (images == 128).all()


def test_a_one_frame_video_gives_one_zero_flow_image(tmp_path):
    path = tmp_path / "one.avi"
    write_video(path, texture(48, 64)[None])
    images = read_flow_images(path, method="farneback")
    assert images.shape == (1, 48, 64, 3) and (images == 128).all()


def test_flow_images_are_aligned_with_the_rgb_frames(tmp_path):
    path = tmp_path / "moving.avi"
    write_video(path, translated(texture(48, 64), 2, 0, steps=5))
    images = video_flow_images(path)
    assert len(images) == len(read_video(path)) == 5
    np.testing.assert_array_equal(images[-1], images[-2])  # the last pair's image, repeated


def test_flow_is_computed_at_a_capped_size_then_resized(tmp_path):
    path = tmp_path / "big.avi"
    write_video(path, translated(texture(48, 64), 4, 0, steps=3))
    assert video_flow_images(path, max_side=32).shape == (3, 24, 32, 3)
    images = read_flow_images(path, size=(20, 20), max_side=32)
    assert images.shape == (3, 20, 20, 3)
    # 4 px at 64 wide is 2 px at 32 wide: the flow is measured at the compute size (JPEG-free path).
    assert abs(np.median(images[:2, 5:15, 5:15, 0]) - (128 + 16 * 2)) <= 6


def test_frames_that_change_size_midway_are_read_end_to_end(tmp_path):
    segments = []
    for i, (h, w) in enumerate([(48, 64), (96, 80)]):
        seg = tmp_path / f"{i}.ts"
        with av.open(str(seg), "w", format="mpegts") as container:
            stream = container.add_stream("mpeg2video", rate=25)
            stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
            for frame in translated(texture(h, w, seed=i), 1, 0, steps=5):
                container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
            container.mux(stream.encode())
        segments.append(seg.read_bytes())
    path = tmp_path / "resized.ts"
    path.write_bytes(b"".join(segments))
    images = read_flow_images(path, size=(32, 32))
    assert images.shape == (len(read_video(path)), 32, 32, 3) and len(images) > 5


def test_the_feature_cache_reads_flow_through_read_frames(tmp_path):
    path = tmp_path / "moving.avi"
    write_video(path, translated(texture(48, 64), 1, 0, steps=4))
    assert read_frames(path, "flow-dis", 40).shape == (4, 40, 40, 3)


@pytest.mark.parametrize("make, message", [
    (lambda p: p.write_bytes(b"not a video at all" * 50), "not"),
    (lambda p: None, "no such file"),
])
def test_bad_files_raise_an_error_naming_the_file(tmp_path, make, message):
    path = tmp_path / "bad.avi"
    make(path)
    with pytest.raises(LrcnError, match=message) as e:
        read_flow_images(path)
    assert str(path) in str(e.value)


def test_an_unknown_method_is_a_user_error(tmp_path):
    with pytest.raises(LrcnError, match="brox"):
        FlowCache(tmp_path, method="brox")


def test_the_parallel_cache_skips_bad_files_and_matches_one_process(tmp_path):
    good = []
    for i in range(3):
        good.append(tmp_path / f"v{i}.avi")
        write_video(good[-1], translated(texture(48, 64, seed=i), 1 + i, 0, steps=4))
    bad = tmp_path / "bad.avi"
    bad.write_bytes(b"\x00" * 1000)
    parallel, single = FlowCache(tmp_path / "a"), FlowCache(tmp_path / "b")
    errors = parallel.build([*good, bad, good[0]], workers=2)  # a video listed twice is fine
    assert list(errors) == [str(bad)] and str(bad) in errors[str(bad)]
    assert single.build(good, workers=1) == {}
    for p in good:
        np.testing.assert_array_equal(parallel.load(p), single.load(p))
        assert np.abs(parallel.load(p).astype(int) - video_flow_images(p)).mean() < 1.5  # JPEG q90


def test_the_cache_resumes_and_never_reads_a_temporary_file(tmp_path, monkeypatch):
    paths = []
    for i in range(3):
        paths.append(tmp_path / f"v{i}.avi")
        write_video(paths[-1], translated(texture(32, 32, seed=i), 1, 0, steps=3))
    cache = FlowCache(tmp_path / "cache")
    computed = []
    real = flow_module.video_flow_images

    def interrupted_after_two(path, *args):
        if len(computed) == 2:
            raise KeyboardInterrupt
        computed.append(path)
        return real(path, *args)

    monkeypatch.setattr(flow_module, "video_flow_images", interrupted_after_two)
    with pytest.raises(KeyboardInterrupt):
        cache.build(paths, workers=1)
    # the build goes in the order of the entries (hashes), not of the paths: the two it computed are cached
    assert sorted(p.name for p in cache.dir.glob("*.npz")) == sorted(cache.entry(p).name for p in computed)
    (last,) = {str(p) for p in paths} - set(map(str, computed))
    leftover = cache.dir / f".{cache.entry(last).name}.abc123.tmp"  # as a crash inside atomic_path leaves
    leftover.write_bytes(b"half-written")
    with pytest.raises(LrcnError, match="no cached"):
        cache.load(last)

    computed.clear()
    monkeypatch.setattr(flow_module, "video_flow_images",
                        lambda path, *args: computed.append(path) or real(path, *args))
    assert cache.build(paths, workers=1) == {}
    assert computed == [last]  # only the missing entry
    assert cache.load(last).shape == (3, 32, 32, 3)
