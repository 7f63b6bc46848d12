"""A compact feature cache: bytes per frame against the LRCN's accuracy, each option on the demo's activity data (RGB).

Options: fp16 (the cache today: a 3x3 grid of Lite0 features, 11,520 values), uint8 with a per-vector scale
(``--cache-format uint8``), the whitening PCA applied at extraction (256 components, fitted on a training sample),
PCA + uint8, and every 2nd frame kept (the loader repeating it). Each option's cache holds exactly what that option
keeps, decoded back to the (T, V, D) features the LRCN reads (PCA's 5.9 MB matrix, stored once, is not counted);
then the demo's RGB LRCN run (same config, same seed) trains and is evaluated on it. The features are extracted
once (the default engine), so only the option differs; one more row trains the same run on PyTorch bf16's features
(the engine before ``--engine``).

The fp16 reference is also trained with ``--seeds`` training seeds: the spread of accuracy that the draws alone make.

Usage: python bench/bench_cache.py [--data runs/demo/data/actions] [--cache DIR] [--epochs 30] [--seeds 3]
       [--videos-per-class 64]
(without --data, the demo's actions are written first: ~2 min).
"""
from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from lrcn.features.store import bytes_per_vector, decode, encode

UCF101_FRAMES = 2.5e6


def pca(sample: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(N, D) training frames -> (mean (D,), components (D, k)), float32."""
    x = torch.from_numpy(sample.astype(np.float32))
    mean = x.mean(0)
    _, _, v = torch.pca_lowrank(x - mean, q=k, center=False, niter=4)
    return mean.numpy(), v[:, :k].numpy()


def options(mean: np.ndarray, comps: np.ndarray) -> dict:
    """name -> (bytes per frame, (T, V, D) float16 -> what the LRCN reads back)."""
    dim, k = comps.shape

    def project(x, store):
        z = (x.astype(np.float32) - mean) @ comps  # (T, V, k)
        z = decode(encode(z, store), store).astype(np.float32)
        return (mean + z @ comps.T).astype(np.float16)

    return {
        "fp16 (today)": (bytes_per_vector(dim, "fp16"), lambda x: x),
        "uint8, per-vector scale": (bytes_per_vector(dim, "uint8"), lambda x: decode(encode(x, "uint8"), "uint8")),
        f"PCA-{k} fp16": (bytes_per_vector(k, "fp16"), lambda x: project(x, "fp16")),
        f"PCA-{k} uint8": (bytes_per_vector(k, "uint8"), lambda x: project(x, "uint8")),
        "every 2nd frame, fp16": (bytes_per_vector(dim, "fp16") / 2, lambda x: np.repeat(x[::2], 2, 0)[: len(x)]),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, help="the demo's actions (runs/demo/data/actions); written if not given")
    ap.add_argument("--cache", type=Path, help="a feature cache to reuse (e.g. runs/demo/cache)")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--videos-per-class", type=int, default=64)
    ap.add_argument("--pca", type=int, default=256)
    ap.add_argument("--seeds", type=int, default=3, help="training seeds of the fp16 reference (its spread)")
    args = ap.parse_args()
    from lrcn.demo.activity import config, settings
    from lrcn.tasks.activity.data import read_videos, training_frames
    from lrcn.tasks.activity.evaluate import evaluate
    from lrcn.tasks.activity.train import train

    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data = args.data
        if data is None:
            from lrcn.data.synthetic.actions import write_actions

            data = write_actions(tmp / "actions", seed=0, videos_per_class=args.videos_per_class, num_frames=24)
        s = {**settings(False), "epochs": args.epochs}
        cfg = config(data, s, 0, "rgb", "lrcn")
        base = args.cache or tmp / "cache"
        from lrcn.features.cache import FeatureCache
        from lrcn.tasks.activity.data import feature_jobs

        jobs = feature_jobs(cfg, base, "cpu")  # the centre views of every video: one folder
        cache = jobs[0][0]
        for fc, paths in jobs:
            fc.build(paths, workers=1, description="demo features")
        videos = read_videos(cfg.data)
        mean, comps = pca(training_frames(cache, videos.train).numpy(), args.pca)
        rows, spread = [], []
        for i, (name, (size, keep)) in enumerate(options(mean, comps).items()):
            root = tmp / f"option-{i}"
            (root / cache.dir.name).mkdir(parents=True)
            if (base / "engines").is_dir():
                os.symlink((base / "engines").resolve(), root / "engines")
            for entry in cache.dir.glob("*.npy"):
                np.save(root / cache.dir.name / entry.name, keep(np.load(entry)))
            assert FeatureCache(root, cache.spec).dir == root / cache.dir.name
            run = tmp / f"run-{i}"
            train(cfg, run, cache=root, progress=False)
            acc = evaluate(run, cache=root)["video_acc"]
            rows.append((name, size, acc))
            spread += [acc] if i == 0 else []
            print(f"  {name}: {size / 1024:.2f} KiB/frame, video accuracy {acc:.1%}", flush=True)
            shutil.rmtree(root)
            if i == 0:  # the reference again with other training seeds: how far a run moves by its draws alone
                for seed in range(1, args.seeds):
                    seed_cfg = replace(cfg, train=replace(cfg.train, seed=seed))
                    train(seed_cfg, tmp / f"run-seed{seed}", cache=base, progress=False)
                    spread.append(evaluate(tmp / f"run-seed{seed}", cache=base)["video_acc"])
                    print(f"  {name}, training seed {seed}: video accuracy {spread[-1]:.1%}", flush=True)
                # the same run on the features of the engine before --engine: PyTorch bf16
                torch_cfg = replace(cfg, features=replace(cfg.features, engine="torch"))
                train(torch_cfg, tmp / "run-torch", cache=base, progress=False)
                acc = evaluate(tmp / "run-torch", cache=base)["video_acc"]
                rows.append(("fp16, PyTorch bf16 features (before)", size, acc))
                print(f"  {rows[-1][0]}: video accuracy {acc:.1%}", flush=True)
        ref_size, ref_acc = rows[0][1], rows[0][2]
        n_test = len(videos.test)
        print(f"\nThe demo's RGB LRCN ({s['image_size']} px, {args.epochs} epochs, seed 0; {n_test} test videos: one "
              f"video = {1 / n_test:.1%}), features from the {cache.spec.engine} engine")
        print("| cache | bytes/frame | x smaller | UCF101 RGB (2.5 M frames) | video accuracy | vs fp16 |")
        print("|---|---:|---:|---:|---:|---:|")
        for name, size, acc in rows:
            print(f"| {name} | {size:,.0f} | {ref_size / size:.1f} | {size * UCF101_FRAMES / 1e9:.1f} GB | {acc:.1%} | "
                  f"{100 * (acc - ref_acc):+.1f} pt |")
        print(f"\nThe fp16 reference with training seeds 0-{len(spread) - 1} (the same features): "
              + ", ".join(f"{a:.1%}" for a in spread)
              + f"; a spread of {100 * (max(spread) - min(spread)):.1f} pt: differences within it are the draws'.")


if __name__ == "__main__":
    main()
