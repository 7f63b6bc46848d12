"""Retrieval scoring speed: log p(caption | image) for 1000 images x 5000 captions (a Flickr30k test split).

Random LRCN2f weights (the cost does not depend on them), caption lengths drawn like the synthetic
scenes' (mean ~11 words). Prints pairs/s and the time of the whole 1000 x 5000 grid, measured on a
slice of it after a warm-up. Usage: python bench/bench_retrieval.py [--width 256] [--variant lrcn2f]
[--precision bf16|fp32] [--images 40]
"""
import argparse
import time

import torch

from lrcn.models.captioner import Captioner
from lrcn.models.captioner import pair_logprob


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--width", type=int, default=256)
    parser.add_argument("--variant", default="lrcn2f")
    parser.add_argument("--precision", default="bf16", choices=["bf16", "fp32"])
    parser.add_argument("--images", type=int, default=40, help="images of the 1000 actually scored (x 5000 captions)")
    parser.add_argument("--vocab", type=int, default=100)
    args = parser.parse_args()
    torch.manual_seed(0)
    model = Captioner(args.vocab, args.width, args.variant, embed_dim=args.width, hidden=args.width).eval()
    num_captions, pad, bos, eos = 5000, 0, 1, 2
    lengths = torch.randint(6, 17, (num_captions,))  # words; + eos
    width = int(lengths.max()) + 1
    words = torch.randint(4, args.vocab, (num_captions, width))
    keep = torch.arange(width)[None, :] < lengths[:, None]
    targets = torch.where(keep, words, pad)
    targets[torch.arange(num_captions), lengths] = eos
    inputs = torch.cat([torch.full((num_captions, 1), bos), targets[:, :-1]], 1).masked_fill(targets == pad, pad)
    cond = torch.randn(args.images, args.width)
    pair_logprob(model, cond[:2], inputs[:500], targets[:500], pad, precision=args.precision)  # warm-up
    t0 = time.perf_counter()
    pair_logprob(model, cond, inputs, targets, pad, precision=args.precision)
    seconds = time.perf_counter() - t0
    rate = args.images * num_captions / seconds
    print(f"retrieval scoring, {args.variant} width {args.width}, {args.precision}, {torch.get_num_threads()} threads: "
          f"{rate:,.0f} pairs/s -> 1000 images x 5000 captions in {5e6 / rate:.0f} s "
          f"(measured on {args.images} x 5000 in {seconds:.1f} s)")


if __name__ == "__main__":
    main()
