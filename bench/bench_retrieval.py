"""Retrieval scoring speed: log p(caption | image) for 1000 images x 5000 captions (a Flickr30k test split).

Random LRCN2f weights (the cost does not depend on them), caption lengths drawn like the synthetic scenes' (mean
~11 words). Every path scores the same slice of ``--images`` images x 5000 captions, beside the baseline measured
in the same run: the captioner's own forward pass over (images x captions) blocks in bf16 autocast (fp32 on a CPU
without bf16 dot products; what ``pair_logprob`` did before it stepped pairs itself). Each path's scores are compared
with the fp32 path's: the largest |difference| of a log-likelihood, and how many images keep fp32's best caption.
A precision this machine has no dot products for is not run (it would take hours: the matrix-product rates
measured first show why); the default (``auto``) is marked, with its rate over the fastest path's. Then the default
path scores the whole 1000 x 5000 grid, timed end to end (``--no-full`` skips it).

Usage: python bench/bench_retrieval.py [--width 256] [--variant lrcn2f] [--images 40] [--no-full]
"""
import argparse
import time

import torch

from lrcn.device import autocast, choose_precision, native
from lrcn.doctor import header, matmul_rate
from lrcn.models.captioner import Captioner, sentence_logprob
from lrcn.models.pair_score import COMPILE_FROM, pair_logprob

IMAGES, CAPTIONS = 1000, 5000


def captions(vocab: int, pad: int = 0, bos: int = 1, eos: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    """(inputs, targets) (C, L): 6-16 random words then eos, padded."""
    lengths = torch.randint(6, 17, (CAPTIONS,))
    width = int(lengths.max()) + 1
    keep = torch.arange(width)[None, :] < lengths[:, None]
    targets = torch.where(keep, torch.randint(4, vocab, (CAPTIONS, width)), pad)
    targets[torch.arange(CAPTIONS), lengths] = eos
    inputs = torch.cat([torch.full((CAPTIONS, 1), bos), targets[:, :-1]], 1).masked_fill(targets == pad, pad)
    return inputs, targets


@torch.inference_mode()
def forward_per_block(model, cond, inputs, targets, pad, precision, pairs_per_block=8192, captions_per_block=1024):
    """The baseline: the captioner's forward on (i, 1, D) x (1, c, L) blocks, captions sorted by length."""
    lengths = (targets != pad).sum(1)
    out = torch.empty(len(cond), len(targets))
    images_per_block = max(1, pairs_per_block // captions_per_block)
    for caps in lengths.argsort().split(captions_per_block):
        width = int(lengths[caps].max())
        for start in range(0, len(cond), images_per_block):
            with autocast(cond.device, precision):
                block = sentence_logprob(model, cond[start : start + images_per_block, None],
                                         inputs[caps, :width][None], targets[caps, :width][None], pad, floor=1e-12)
            out[start : start + images_per_block, caps] = block.float()
    return out


def timed(fn) -> tuple[torch.Tensor, float]:
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--width", type=int, default=256)
    parser.add_argument("--variant", default="lrcn2f")
    parser.add_argument("--images", type=int, default=40, help="the slice every path scores (x 5000 captions)")
    parser.add_argument("--vocab", type=int, default=100)
    parser.add_argument("--full", action=argparse.BooleanOptionalAction, default=True,
                        help="also score the whole 1000 x 5000 grid with the default path")
    args = parser.parse_args()
    torch.manual_seed(0)
    model = Captioner(args.vocab, args.width, args.variant, embed_dim=args.width, hidden=args.width).eval()
    inputs, targets = captions(args.vocab)
    cond = torch.randn(IMAGES, args.width)
    part = cond[: args.images]
    cpu = torch.device("cpu")
    print("\n".join(header()))
    rates = {p: matmul_rate(p) for p in ("fp32", "bf16", "int8")}
    print("matrix products here (1024^3): " + ", ".join(f"{p} {r:.1f} G{'OP' if p == 'int8' else 'FLOP'}/s"
                                                       for p, r in rates.items()))
    print(f"retrieval scoring, {args.variant} width {args.width}, vocabulary {args.vocab}, {torch.get_num_threads()} "
          f"threads; every path on {args.images} images x {CAPTIONS} captions")
    base_precision = "bf16" if native("bf16", cpu)[0] else "fp32"
    baseline = f"baseline: forward per block, {base_precision}"
    paths = {baseline: (base_precision, lambda x: forward_per_block(model, x, inputs, targets, 0, base_precision))}
    skipped = []
    for precision in ("int8", "bf16", "fp32"):
        ok, why = native(precision, cpu)
        if not ok:
            skipped.append(f"{precision} ({why})")
            continue
        for compile in (True, False):
            paths[f"{precision}, {'compiled' if compile else 'eager'}"] = (precision, (
                lambda x, p=precision, c=compile: pair_logprob(model, x, inputs, targets, 0, precision=p, compile=c)))
    results = {}
    for name, (_, fn) in paths.items():
        _, warm = timed(lambda: fn(cond[:9]))  # compiles; 9 images: a full block and a remainder
        results[name] = (*timed(lambda: fn(part)), warm)
    reference = results["fp32, eager"][0]
    base = results[baseline][1]
    auto = choose_precision("auto", cpu, "score").value
    default = f"{auto}, {'compiled' if IMAGES * CAPTIONS >= COMPILE_FROM else 'eager'}"  # as the whole grid runs
    fastest = min(seconds for _, seconds, _ in results.values())
    # the per-pair products of a word: the pair layers' recurrent (H x 4H) and the word's (H x V); lrcn2f has one
    words = float((targets != 0).sum(1).float().mean())
    flops = 2 * words * (args.width * 4 * args.width + args.width * args.vocab)
    print(f"{'path':36} {'pairs/s':>9} {'x baseline':>10} {'1000x5000':>10} {'first call':>10} "
          f"{'max |d log p|':>13} {'best caption = fp32':>19} {'of matmul bound':>15}")
    for name, (scores, seconds, warm) in results.items():
        rate = args.images * CAPTIONS / seconds
        same = (scores.argmax(1) == reference.argmax(1)).float().mean()
        bound = rates[paths[name][0]]  # the products' precision
        mark = f"  <- default (auto), {fastest / seconds:.2f} of the fastest" if name == default else ""
        print(f"{name:36} {rate:9,.0f} {base / seconds:9.2f}x {IMAGES * CAPTIONS / rate:9.0f}s {warm:9.1f}s "
              f"{(scores - reference).abs().max():13.4f} {same:18.1%} {rate * flops / 1e9 / bound:14.1%}{mark}")
    for line in skipped:
        print(f"not run: {line}")
    if args.full:
        _, seconds = timed(lambda: pair_logprob(model, cond, inputs, targets, 0))
        print(f"whole grid, default path ({auto}; compiled from 1,000,000 pairs): {IMAGES} images x {CAPTIONS} "
              f"captions in {seconds:.0f} s ({IMAGES * CAPTIONS / seconds:,.0f} pairs/s)")


if __name__ == "__main__":
    main()
