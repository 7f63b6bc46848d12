"""A compact feature cache: bytes per frame against the LRCN's accuracy, each option on the demo's activity data (RGB).

Options: fp16 (the cache today: a 3x3 grid of Lite0 features, 11,520 values), uint8 with a per-vector scale
(``--cache-format uint8``), the whitening PCA applied at extraction (256 components, fitted on a training sample),
PCA + uint8, and every 2nd frame kept (the loader repeating it). Each option's cache holds exactly what that option
keeps, decoded back to the (T, V, D) features the LRCN reads (PCA's 5.9 MB matrix, stored once, is not counted);
then the demo's RGB LRCN run (same config, same seed) trains and is evaluated on it. The features are extracted
once (the default engine), so only the option differs; one more row trains the same run on PyTorch bf16's features
(the engine before ``--engine``).

Every option trains with ``--seeds`` training seeds and is compared by its mean: on the demo one run's accuracy
moves by several points with its draws (and as much with a perturbation of its features as small as fp16 rounding),
so a single run per option cannot tell a smaller cache from a luckier one.

Usage: python bench/bench_cache.py [--data runs/demo/data/actions] [--cache DIR] [--epochs 30] [--seeds 3]
       [--only fp16,torch,uint8,pca,pca-uint8,every2] [--videos-per-class 64]
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
from lrcn.doctor import header

UCF101_FRAMES = 2.5e6
OPTIONS = ("fp16", "torch", "uint8", "pca", "pca-uint8", "every2")  # the keys of options(), and PyTorch's features


def pca(sample: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(N, D) training frames -> (mean (D,), components (D, k)), float32."""
    x = torch.from_numpy(sample.astype(np.float32))
    mean = x.mean(0)
    with torch.random.fork_rng():
        torch.manual_seed(0)  # randomised: unseeded, two runs of the bench projected onto different components
        _, _, v = torch.pca_lowrank(x - mean, q=k, center=False, niter=4)
    return mean.numpy(), v[:, :k].numpy()


def options(mean: np.ndarray, comps: np.ndarray) -> dict:
    """key -> (name, bytes per frame, (T, V, D) float16 -> what the LRCN reads back)."""
    dim, k = comps.shape

    def project(x, store):
        z = (x.astype(np.float32) - mean) @ comps  # (T, V, k)
        z = decode(encode(z, store), store).astype(np.float32)
        return (mean + z @ comps.T).astype(np.float16)

    return {
        "fp16": ("fp16 (today)", bytes_per_vector(dim, "fp16"), lambda x: x),
        "uint8": ("uint8, per-vector scale", bytes_per_vector(dim, "uint8"),
                  lambda x: decode(encode(x, "uint8"), "uint8")),
        "pca": (f"PCA-{k} fp16", bytes_per_vector(k, "fp16"), lambda x: project(x, "fp16")),
        "pca-uint8": (f"PCA-{k} uint8", bytes_per_vector(k, "uint8"), lambda x: project(x, "uint8")),
        "every2": ("every 2nd frame, fp16", bytes_per_vector(dim, "fp16") / 2,
                   lambda x: np.repeat(x[::2], 2, 0)[: len(x)]),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, help="the demo's actions (runs/demo/data/actions); written if not given")
    ap.add_argument("--cache", type=Path, help="a feature cache to reuse (e.g. runs/demo/cache)")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--videos-per-class", type=int, default=64)
    ap.add_argument("--pca", type=int, default=256)
    ap.add_argument("--seeds", type=int, default=3, help="training seeds of every option (the spread of its draws)")
    ap.add_argument("--only", default=",".join(OPTIONS), help=f"comma-separated options: {', '.join(OPTIONS)}")
    args = ap.parse_args()
    print("\n".join(header()))  # the machine first: every figure below is this one's
    chosen = set(filter(None, args.only.split(",")))
    if not chosen or chosen - set(OPTIONS):
        ap.error(f"--only {args.only!r}: choose one or more of {', '.join(OPTIONS)}")
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
        rows = []  # (name, bytes per frame, [accuracy per seed])

        def runs(name: str, size: float, cfg, root: Path) -> None:
            accs = []
            for seed in range(args.seeds):
                run = tmp / f"run-{len(rows)}-{seed}"
                train(replace(cfg, train=replace(cfg.train, seed=seed)), run, cache=root, progress=False)
                accs.append(evaluate(run, cache=root)["video_acc"])
                print(f"  {name}, seed {seed}: {size / 1024:.2f} KiB/frame, video accuracy {accs[-1]:.1%}", flush=True)
            rows.append((name, size, accs))

        for key, (name, size, keep) in options(mean, comps).items():
            if key in chosen:
                root = tmp / f"option-{key}"
                (root / cache.dir.name).mkdir(parents=True)
                if (base / "engines").is_dir():
                    os.symlink((base / "engines").resolve(), root / "engines")
                for entry in cache.dir.glob("*.npy"):
                    np.save(root / cache.dir.name / entry.name, keep(np.load(entry)))
                assert FeatureCache(root, cache.spec).dir == root / cache.dir.name
                runs(name, size, cfg, root)
                shutil.rmtree(root)
            if key == "fp16" and "torch" in chosen:  # the features of the engine before --engine: PyTorch bf16
                runs("fp16, PyTorch bf16 features (before)", size,
                     replace(cfg, features=replace(cfg.features, engine="torch")), base)
        ref = rows[0][2]
        n_test = len(videos.test)
        print(f"\nThe demo's RGB LRCN ({s['image_size']} px, {args.epochs} epochs, training seeds 0-{args.seeds - 1}; "
              f"{n_test} test videos: one video = {1 / n_test:.1%}), features from the {cache.spec.engine} engine")
        print(f"| cache | bytes/frame | x smaller | UCF101 RGB (2.5 M frames) | video accuracy, mean (min-max) | "
              f"mean vs {rows[0][0]} |")
        print("|---|---:|---:|---:|---:|---:|")
        for name, size, accs in rows:
            print(f"| {name} | {size:,.0f} | {rows[0][1] / size:.1f} | {size * UCF101_FRAMES / 1e9:.1f} GB | "
                  f"{np.mean(accs):.1%} ({min(accs):.1%}-{max(accs):.1%}) | "
                  f"{100 * (np.mean(accs) - np.mean(ref)):+.1f} pt |")


if __name__ == "__main__":
    main()
