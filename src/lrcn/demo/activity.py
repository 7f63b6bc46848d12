"""Demo section: the paper's Table 1 on the synthetic actions: {single frame, LRCN} x {RGB, flow, fusions}."""
from __future__ import annotations

import csv
from pathlib import Path

from lrcn.demo import DemoContext, Section, train_or_resume

# TPAMI'16 Table 1, UCF101, average over the 3 splits (research.md §1, [SEC x2]).
PAPER = {
    "single_frame": {"rgb": 67.37, "flow": 74.37, "fusion_1_2": 75.46, "fusion_1_3": 78.94},
    "lrcn": {"rgb": 68.20, "flow": 77.28, "fusion_1_2": 80.90, "fusion_1_3": 82.34},
}
UCF101_FRAMES = 2.5e6  # 13,320 videos, ~7 s each at 25 fps
FUSIONS = {"fusion_1_2": (0.5, 0.5), "fusion_1_3": (1 / 3, 2 / 3)}
ARCHS = {"single_frame": "single-frame", "lrcn": "lrcn"}
STREAMS = ("rgb", "flow")
RUNS = [f"activity-{m}-{a}" for m in STREAMS for a in ARCHS.values()]  # the demo's run folders


def settings(quick: bool) -> dict:
    """Data and training sizes (the full section: ~11 min on 2 cores, its four runs ~2 min each); quick: a smoke test."""
    if quick:
        return dict(videos_per_class=6, num_frames=20, image_size=96, epochs=3)
    return dict(videos_per_class=64, num_frames=24, image_size=128, epochs=20)


def config(data: Path, s: dict, seed: int, modality: str, arch: str):
    """The ActivityConfig of one demo run (``s``: :func:`settings`) on the synthetic actions at ``data``."""
    from lrcn.data.synthetic.actions import CLASSES, MIRRORED, PAIRS
    from lrcn.features.spec import FeatureConfig
    from lrcn.models.activity import ActivityModelConfig
    from lrcn.tasks.activity.config import ActivityConfig, ActivityDataConfig, ActivityTrainConfig

    # The synthetic pairs are exact time reversals: a reversed RGB clip of one is a clip of the other. Not so for
    # flow, whose vectors would also need negating, so flow trains without it.
    reverse = [f"{a}:{b}" for a, b in PAIRS] if modality == "rgb" else []
    # Left-right mirror pairs: the demo trains on centre crops only, but `lrcn eval RUN --crops 10` then swaps
    # the mirrored crops' scores back.
    mirror = [f"{a}:{b}" for a, b in MIRRORED.items() if CLASSES.index(a) < CLASSES.index(b)]
    # Flow: DIS runs in the decoding workers, two of them beside the CNN (1.2x one on 2 cores); RGB decoding is cheap.
    return ActivityConfig(
        ActivityDataConfig(root=data, split=1, workers=2 if modality == "flow" else 1, modality=modality),
        FeatureConfig(image_size=s["image_size"]),
        ActivityModelConfig(arch=arch, fc6=256, hidden=512 if modality == "flow" else 256),
        ActivityTrainConfig(epochs=s["epochs"], seed=seed, reverse_pairs=reverse, mirror_pairs=mirror),
    )


def run(ctx: DemoContext) -> Section:
    from lrcn.data.synthetic.actions import CLASSES, PAIRS, write_actions
    from lrcn.tasks.activity.evaluate import evaluate
    from lrcn.tasks.activity.train import train

    s = settings(ctx.quick)
    data = ctx.data / "actions"
    if not (data / "ucfTrainTestlist" / "testlist01.txt").is_file():
        write_actions(data, seed=ctx.seed, videos_per_class=s["videos_per_class"], num_frames=s["num_frames"])
    metrics: dict[str, dict[str, dict]] = {}
    for modality in STREAMS:
        for key, arch in ARCHS.items():
            run_dir = ctx.run_dir(f"activity-{modality}-{arch}")
            cfg = config(data, s, ctx.seed, modality, arch)
            train_or_resume(train, cfg, run_dir, ctx.cache)
            metrics.setdefault(modality, {})[key] = evaluate(run_dir, cache=ctx.cache)
    for fusion, weights in FUSIONS.items():
        for key, arch in ARCHS.items():
            both = evaluate(ctx.run_dir(f"activity-rgb-{arch}"), fuse_run=ctx.run_dir(f"activity-flow-{arch}"),
                            weights=weights, cache=ctx.cache)
            metrics.setdefault(fusion, {})[key] = both["fusion"]
    curves = plot_curves(ctx, RUNS)
    results = {"activity": {col: {k: m["video_acc"] for k, m in row.items()} for col, row in metrics.items()}}
    markdown = report(ctx, metrics, s, curves, CLASSES, PAIRS) + "\n" + flow_cost(sorted(data.glob("*/*.avi"))[:4])
    return Section("Activity recognition (UCF101 format, synthetic actions)", markdown, results)


def flow_cost(videos: list[Path]) -> str:
    """What optical flow for all of UCF101 would cost here: DIS timed on a few demo videos, one process."""
    import time

    from lrcn.data.flow import compute_flow
    from lrcn.data.video import read_video

    clips = [read_video(v) for v in videos]  # (T, 240, 320, 3) each
    start = time.perf_counter()
    pairs = sum(len(compute_flow(frames, "dis")) for frames in clips)
    rate = pairs / (time.perf_counter() - start)
    _, h, w, _ = clips[0].shape
    return (f"Optical-flow cost: OpenCV DIS (medium preset) at {w}x{h} ran at {rate:.0f} frame pairs/s in one "
            f"process here, so the flow of all of UCF101 (13,320 videos, about {UCF101_FRAMES / 1e6:.1f} M frames) "
            f"would take about {UCF101_FRAMES / rate / 3600:.1f} h per process "
            "(`python bench/bench_flow.py` times every method and the parallel cache builder).\n")


def report(ctx: DemoContext, metrics: dict, s: dict, curves: str, classes: list[str], pairs: list) -> str:
    any_run = next(iter(next(iter(metrics.values())).values()))
    columns = ("rgb", "flow", "fusion_1_2", "fusion_1_3")
    names = {"rgb": "RGB", "flow": "Flow", "fusion_1_2": "Fusion 1/2-1/2", "fusion_1_3": "Fusion 1/3-2/3"}
    head = "| model | " + " | ".join(f"{names[c]} ours | {names[c]} paper" for c in columns) + " |"
    lines = [
        "Video accuracy (%), the paper's Table 1 in its shape. **Ours**: synthetic actions "
        f"(`{ctx.data / 'actions'}`, {any_run['classes']} classes in 6 time-reversed pairs, {s['videos_per_class']} "
        f"videos/class of {s['num_frames']} frames), split 1 ({any_run['num_videos']} test videos), "
        f"clips of {any_run['clip_len']} every {any_run['stride']} frames x {any_run['crops']} crop, "
        f"backbone {any_run['backbone']} (ImageNet, frozen) at {s['image_size']} px, seed {any_run['seed']}. "
        "**Paper**: UCF101, TPAMI'16 Table 1, average of the 3 splits, CaffeNet-hybrid fine-tuned, 10 crops.",
        "",
        head,
        "|---|" + "---:|---:|" * len(columns),
    ]
    for key, label in (("single_frame", "Single frame"), ("lrcn", "LRCN")):
        cells = [f"{100 * metrics[c][key]['video_acc']:.1f} | {PAPER[key][c]:.2f}" for c in columns]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", "Configs: " + ", ".join(f"[`{r}`]({r}/config.yaml)" for r in RUNS) + ".", ""]
    lines += per_class_table(metrics, pairs)
    lines += ["", "Confusion matrices (row = true class):", ""]
    lines += [f"![{r}]({r}/confusion.png)" for r in RUNS]
    lines += ["", f"Training curves: ![training curves]({curves})", ""]
    return "\n".join(lines)


def per_class_table(metrics: dict, pairs: list) -> list[str]:
    cols = [(c, k) for c in ("rgb", "flow", "fusion_1_2") for k in ARCHS]
    short = {"single_frame": "SF", "lrcn": "LRCN"}
    lines = ["Per-class video accuracy (%), each class beside its time reversal:", "",
             "| class | " + " | ".join(f"{c} {short[k]}" for c, k in cols) + " |", "|---|" + "---:|" * len(cols)]
    for a, b in pairs:
        for name in (a, b):
            cells = []
            for c, k in cols:
                acc = metrics[c][k]["per_class"].get(name)
                cells.append("-" if acc is None else f"{100 * acc:.0f}")
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def plot_curves(ctx: DemoContext, runs: list[str]) -> str:
    """Training loss and validation video accuracy per epoch of each run, from its CSV log, as one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from lrcn.files import atomic_path

    fig, (loss_ax, acc_ax) = plt.subplots(1, 2, figsize=(10, 3.5))
    for name in runs:
        loss, acc = read_curves(ctx.run_dir(name) / "logs" / "metrics.csv")
        loss_ax.plot(*zip(*loss), label=name) if loss else None
        acc_ax.plot(*zip(*acc), label=name) if acc else None
    loss_ax.set(xlabel="epoch", ylabel="training loss (per-step cross-entropy)")
    acc_ax.set(xlabel="epoch", ylabel="held-out video accuracy", ylim=(0, 1.02))
    loss_ax.legend(fontsize=7)
    fig.tight_layout()
    with atomic_path(ctx.out / "activity-curves.png") as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
    return "activity-curves.png"


def read_curves(path: Path) -> tuple[list[tuple[int, float]], list[tuple[int, float]]]:
    loss, acc = [], []
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            if row.get("train/loss_epoch"):
                loss.append((int(row["epoch"]), float(row["train/loss_epoch"])))
            if row.get("val/video_acc"):
                acc.append((int(row["epoch"]), float(row["val/video_acc"])))
    return loss, acc
