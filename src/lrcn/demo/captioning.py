"""Demo section: image captioning (LRCN1u/2u/2f/4f vs a nearest-neighbour baseline) and image-sentence
retrieval (LRCN2f vs a feature-similarity baseline) on the synthetic scenes."""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

from lrcn.demo import DemoContext, Section, train_or_resume
from lrcn.features.spec import FeatureConfig
from lrcn.models.captioner import VARIANTS, CaptionModelConfig
from lrcn.models.decoding import Decoding
from lrcn.tasks.caption.config import CaptionConfig, CaptionDataConfig
from lrcn.tasks.caption.evaluate import evaluate_captions
from lrcn.tasks.caption.retrieval import evaluate_retrieval
from lrcn.tasks.caption.train import train

METRICS = ("bleu1", "bleu2", "bleu3", "bleu4", "meteor", "rouge_l", "cider")
# research.md §2: CaffeNet LRCN, BLEU only. COCO: third-party-sourced; Flickr30k: recalled, unconfirmed.
PAPER_BLEU = {"COCO 2014 (third-party source)": (62.79, 44.19, 30.41, 21.00),
              "Flickr30k (unconfirmed)": (58.72, 39.06, 25.12, 16.46)}
# research.md §3: TPAMI Table 4, LRCN2f on Flickr30k (1000 test images, 5000 captions).
PAPER_RETRIEVAL = {"annotation": (23.6, 46.6, 58.3, 7), "search": (17.5, 40.3, 50.8, 9)}


@dataclass(frozen=True)
class Sizes:
    num_train: int
    num_val: int
    num_test: int
    width: int  # embedding, LSTM and image projection width
    epochs: int
    retrieval_images: int  # test images (x 5 captions) ranked for retrieval


FULL = Sizes(num_train=1500, num_val=150, num_test=1000, width=192, epochs=6, retrieval_images=300)
QUICK = Sizes(num_train=60, num_val=10, num_test=20, width=32, epochs=1, retrieval_images=20)


def run(ctx: DemoContext) -> Section:
    from lrcn.data.synthetic.scenes import write_scenes

    sizes = QUICK if ctx.quick else FULL
    t0 = time.time()
    data = ctx.data / "scenes"
    if not (data / "dataset_scenes.json").is_file():
        write_scenes(data, seed=ctx.seed, num_train=sizes.num_train, num_val=sizes.num_val, num_test=sizes.num_test)
    timings = {"data": time.time() - t0}
    runs = {}
    for variant in VARIANTS:
        t0 = time.time()
        run_dir = ctx.run_dir(f"caption-{variant}")
        train_or_resume(train, _config(ctx, data, variant, sizes), run_dir, ctx.cache)
        runs[variant] = run_dir
        timings[f"train {variant}"] = time.time() - t0
    t0 = time.time()
    scores = evaluate_captions(list(runs.values()), "test", Decoding(beam=1), cache=ctx.cache)
    timings["caption + score (Java)"] = time.time() - t0
    t0 = time.time()
    retrieval = evaluate_retrieval(runs["lrcn2f"], "test", limit=sizes.retrieval_images, cache=ctx.cache)
    timings["retrieval"] = time.time() - t0
    captioning = {v: {k: scores[str(r)][k] for k in METRICS} for v, r in runs.items()}
    captioning["nearest_neighbour"] = {k: scores["nearest_neighbour"][k] for k in METRICS}
    results = {"captioning": captioning,
               "retrieval": {k: retrieval[k] for k in ("annotation", "search", "baseline")}}
    markdown = _markdown(ctx, sizes, captioning, retrieval, runs, timings)
    return Section("Image captioning and retrieval", markdown, results)


def _config(ctx: DemoContext, data: Path, variant: str, sizes: Sizes) -> CaptionConfig:
    w = sizes.width
    cfg = CaptionConfig(
        data=CaptionDataConfig(root=data, min_count=5),
        features=FeatureConfig(image_size=112),  # 128-pixel scenes, centre crop 112
        model=CaptionModelConfig(variant=variant, embed_dim=w, hidden=w, image_dim=w, dropout=0.5),
    )
    return replace(cfg, train=replace(cfg.train, epochs=sizes.epochs, seed=ctx.seed))


def _markdown(ctx: DemoContext, sizes: Sizes, captioning: dict, retrieval: dict, runs: dict, timings: dict) -> str:
    names = {"lrcn1u": "LRCN1u", "lrcn2u": "LRCN2u", "lrcn2f": "LRCN2f", "lrcn4f": "LRCN4f (layout unconfirmed)",
             "nearest_neighbour": "nearest neighbour (CNN cosine)"}
    rel = lambda p: Path(p).relative_to(ctx.out).as_posix()
    lines = [
        f"Synthetic scenes (`lrcn synth scenes`, seed {ctx.seed}): {sizes.num_train} training, {sizes.num_val} "
        f"validation and {sizes.num_test} test images, 5 captions each, read back from the Karpathy split file. "
        f"Frozen EfficientNet-Lite0 (ImageNet weights), 3x3 grid of its last map at 112 px, projected to "
        f"{sizes.width}; embedding and LSTMs {sizes.width} wide (paper: 1000); {sizes.epochs} epochs of Adam; "
        f"greedy decoding (beam 1, the authors' default). Scores by pycocoevalcap (PTB tokenizer, CIDEr-D), "
        f"x 100. The baseline gives each test image the first caption of its nearest training image.",
        "",
        "| model | BLEU-1 | BLEU-2 | BLEU-3 | BLEU-4 | METEOR | ROUGE-L | CIDEr-D | run |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for key, scores in captioning.items():
        run = f"[config]({rel(runs[key])}/config.yaml)" if key in runs else ""
        lines.append(f"| {names[key]} | " + " | ".join(f"{100 * scores[m]:.1f}" for m in METRICS) + f" | {run} |")
    for name, bleu in PAPER_BLEU.items():
        lines.append(f"| paper, LRCN on {name} | " + " | ".join(f"{b:.2f}" for b in bleu) + " | – | – | – | |")
    order = sorted(VARIANTS, key=lambda v: -captioning[v]["cider"])
    nn = captioning["nearest_neighbour"]["cider"]
    beats = [v for v in VARIANTS if captioning[v]["cider"] > nn]
    lines += [
        "",
        f"Variant order by CIDEr-D: {' > '.join(names[v].split(' ')[0] for v in order)}. "
        f"{len(beats)} of 4 variants beat the nearest-neighbour baseline on CIDEr-D "
        f"({nn * 100:.1f}). The paper's rows are on real photographs and report BLEU only; compare orderings, not values.",
        "",
        f"![generated (LRCN2f), nearest-neighbour and reference captions]({rel(runs['lrcn2f'])}/gallery.png)",
        "",
        f"**Retrieval** with LRCN2f: every test caption scored under every test image by log p(caption | image), "
        f"normalised by the caption's mean likelihood over all images (the authors' code), "
        f"{retrieval['images']} images x {retrieval['captions']} captions, scored in {retrieval['score_seconds']:.0f} s "
        f"({retrieval['precision']}). Baseline: a caption stands for the mean CNN feature of the training images "
        f"of its 5 most similar training captions (bag of words), images ranked by cosine to it. "
        f"Chance R@1: {100 / retrieval['images']:.1f} (annotation: {500 / (retrieval['captions']):.1f}).",
        "",
        "| task | model | R@1 | R@5 | R@10 | Med r |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for task, label in (("annotation", "image annotation"), ("search", "image search")):
        rows = (("LRCN2f (ours)", retrieval[task]), ("feature similarity", retrieval["baseline"][task]))
        for model, r in rows:
            lines.append(f"| {label} | {model} | {r['r1']:.1f} | {r['r5']:.1f} | {r['r10']:.1f} | {r['medr']:g} |")
        p = PAPER_RETRIEVAL[task]
        lines.append(f"| {label} | paper LRCN2f, Flickr30k | {p[0]} | {p[1]} | {p[2]} | {p[3]} |")
    lines += ["", "Time (training includes the first feature extraction): " + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items()) + "."]
    return "\n".join(lines)
