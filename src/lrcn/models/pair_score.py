"""log p(caption | image) for every (image, caption) pair: the retrieval score (the paper's Table 4).

The layers below the first that reads the image are language-only: they run once per caption. The first layer
that reads the image, and every layer above it, run once per pair, stepped over blocks of about a thousand pairs
(``images_per_block`` x ``captions_per_block``; blocks of 2-8 thousand were slower here: their gates leave the
cache); each step's words are scored as the step ends, so no (images, captions, L, vocabulary) tensor is made.

``precision`` is that of the per-pair matrix products, as given (the caller resolved it: ``lrcn eval retrieval``
through :func:`lrcn.device.choose_precision`), or None for what ``auto`` resolves to (int8 where the CPU has int8
dot products, else bf16 where the device has bf16, else fp32); the gates, cell states and softmax are float32, and
the language-only layers run in bf16 autocast where the device has bf16 (fp32 otherwise, and for ``fp32``):

- ``fp32``: the reference.
- ``bf16``: products in bfloat16.
- ``int8``: products in int8 with int32 sums (the products alone at twice bf16's rate on an AMX CPU). No
  calibration is needed: h = o * tanh(c) lies in (-1, 1) and is stored as round(127 h); each weight row has its
  own scale.

On large grids the whole step goes through ``torch.compile``: its elementwise part (the gates' sigmoids, the cell
update, the word's log-softmax) becomes a fused kernel instead of a dozen passes over the gates (int8: 1.9x the
eager rate, ``bench/bench_retrieval.py``). The block sizes and ``COMPILE_FROM`` were tuned on a 2-core CPU; on a GPU
they are unmeasured (larger blocks are likely faster there).
"""
from __future__ import annotations

import functools
import math
import warnings
from typing import Callable, NamedTuple

import torch

from lrcn.device import autocast, choose_precision, native
from lrcn.models.captioner import Captioner

_STORE = {"int8": torch.int8, "bf16": torch.bfloat16, "fp32": torch.float32}  # h's dtype, as the products take it
COMPILE_FROM = 1_000_000  # pairs: below it torch.compile's start (~20 s with an empty cache) costs more than it saves
FLOOR = math.log(1e-12)  # each word's probability is floored as in the authors' retrieval_experiment.py


class PairLayer(NamedTuple):
    """A layer's weights as a step takes them; an LSTM's g-gate rows are doubled (tanh x = 2 sigmoid(2x) - 1, so one
    sigmoid serves all four gates)."""
    weight: torch.Tensor  # (In, Out) in the products' dtype: an LSTM's [input; recurrent] (the first pair layer's
    # recurrent only: its input is a caption's, taken once per caption)
    scale: torch.Tensor | None  # (Out,) the int8 weight's scale, times h's 1/127; None for float weights
    bias: torch.Tensor  # (Out,) float32


class PairModel(NamedTuple):
    """A captioner split for scoring pairs: ``first`` language-only layers, then the layers run per pair."""
    first: int
    words: torch.Tensor  # (In, 4H) float32: the first pair layer's input weight, for the per-caption part
    static: list[torch.Tensor]  # per pair layer (D, 4H) float32, its image weight (zeros if it does not read it)
    layers: list[PairLayer]
    predict: PairLayer


def _doubled(w: torch.Tensor) -> torch.Tensor:
    """Rows (4H, ...) in torch's i, f, g, o order, with g's doubled."""
    hidden = w.shape[0] // 4
    return torch.cat([w[: 2 * hidden], 2 * w[2 * hidden : 3 * hidden], w[3 * hidden :]])


def _quantised(w: torch.Tensor, precision: str) -> tuple[torch.Tensor, torch.Tensor | None]:
    """w (Out, In) float -> the transposed (In, Out) weight for the products, and its per-row scale for int8."""
    if precision != "int8":
        return w.t().to(dtype=_STORE[precision]).contiguous(), None
    scale = w.abs().amax(1).clamp_min(1e-12) / 127  # (Out,)
    return torch.round(w / scale[:, None]).to(torch.int8).t().contiguous(), scale.float() / 127


def _store(h: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    return torch.round(127 * h).to(torch.int8) if dtype == torch.int8 else h.to(dtype)


def lstm_cell(acc: torch.Tensor, scale: torch.Tensor | None, rows: torch.Tensor, cols: torch.Tensor,
              c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One step of a pair layer for images x captions pairs: acc (I, C, 4H) = [x, h] @ weight, rows (C or 1, 4H)
    the gates' per-caption part, cols (I or 1, 4H) their per-image part, c (I, C, H) float32 -> (h (I, C, H) in
    the dtype the products take, c)."""
    gates = acc.float() if scale is None else acc.float() * scale
    i, f, g, o = (gates + rows[None] + cols[:, None]).sigmoid().chunk(4, dim=-1)
    c = f * c + i * (2 * g - 1)
    h = o * (2 * torch.sigmoid(2 * c) - 1)  # o * tanh(c)
    return _store(h, torch.int8 if acc.dtype == torch.int32 else acc.dtype), c


def word_logprob(acc: torch.Tensor, scale: torch.Tensor | None, bias: torch.Tensor, target: torch.Tensor,
                 keep: torch.Tensor) -> torch.Tensor:
    """acc (I, C, V) = h @ W_out, target and keep (C,) -> floored log p(target) (I, C), 0 where keep is 0."""
    logits = (acc.float() if scale is None else acc.float() * scale) + bias
    word = logits.log_softmax(-1).gather(-1, target.expand(acc.shape[:-1])[..., None]).squeeze(-1)
    return word.clamp_min(FLOOR) * keep


def _linear(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """x (I, C, In) @ weight (In, Out) -> (I, C, Out); int8 x int8 -> int32."""
    flat = x.reshape(-1, x.shape[-1])
    out = torch._int_mm(flat, weight) if weight.dtype == torch.int8 else flat @ weight
    return out.view(*x.shape[:-1], -1)


def pair_step(h: list[torch.Tensor], c: list[torch.Tensor], total: torch.Tensor, layers: list[PairLayer],
              rows: torch.Tensor, cols: list[torch.Tensor], predict: PairLayer, target: torch.Tensor,
              keep: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor], torch.Tensor]:
    """One time step of every pair layer, then the word's score: h, c per layer (I, C, H), total (I, C) the
    captions' log-likelihoods so far, rows (C, 4H) the first pair layer's word gates at this step, cols per layer
    (I, 4H), target and keep (C,) -> (h, c, total + log p(target))."""
    h, c = list(h), list(c)
    for k, layer in enumerate(layers):
        x = h[k] if k == 0 else torch.cat([h[k - 1], h[k]], -1)  # (I, C, [In +] H)
        h[k], c[k] = lstm_cell(_linear(x, layer.weight), layer.scale, rows if k == 0 else layer.bias[None],
                               cols[k], c[k])
    return h, c, total + word_logprob(_linear(h[-1], predict.weight), predict.scale, predict.bias, target, keep)


class Compiled:
    """``fn`` through torch.compile; where that fails (no C++ compiler, say), ``fn`` itself from then on, said once
    (``failed`` then tells)."""

    def __init__(self, fn: Callable):
        self.fn, self.compiled, self.failed = fn, torch.compile(fn, dynamic=True), False

    def __call__(self, *args):
        if not self.failed:
            try:
                return self.compiled(*args)
            except Exception as err:  # noqa: BLE001 - any backend failure: the eager function gives the same result
                warnings.warn(f"torch.compile failed on {self.fn.__name__} ({type(err).__name__}); scoring eagerly")
                self.failed = True
        return self.fn(*args)


@functools.cache
def _step(compile: bool) -> Callable:
    return Compiled(pair_step) if compile else pair_step  # compiled once per process


def pair_model(captioner: Captioner, precision: str) -> PairModel:
    first = next(k for k, layer in enumerate(captioner.layers) if layer.static is not None)
    static, layers = [], []
    for k, layer in enumerate(captioner.layers[first:]):
        recurrent = _doubled(layer.recurrent.weight)
        weight, scale = _quantised(recurrent if k == 0 else torch.cat([_doubled(layer.input.weight), recurrent], 1),
                                   precision)
        layers.append(PairLayer(weight, scale, _doubled(layer.input.bias).float()))
        static.append(_doubled(layer.static.weight).t().float() if layer.static is not None else
                      recurrent.new_zeros(captioner.layers[first].static.in_features, 4 * layer.hidden))
    predict = PairLayer(*_quantised(captioner.predict.weight, precision), captioner.predict.bias.float())
    return PairModel(first, _doubled(captioner.layers[first].input.weight).t().float(), static, layers, predict)


@torch.inference_mode()
def pair_logprob(captioner: Captioner, cond: torch.Tensor, inputs: torch.Tensor, targets: torch.Tensor, pad: int,
                 precision: str | None = None, captions_per_block: int = 128, images_per_block: int = 8,
                 compile: bool | None = None, progress=lambda blocks: blocks) -> torch.Tensor:
    """Teacher-forced sum over t of floored log p(target_t | inputs_<=t, image) for every pair.

    cond (I, D) the captioner's static input, on the captioner's device, inputs/targets (C, L) -> (I, C) float32 on
    the CPU. Captions are sorted by length and each block trimmed to its longest. ``precision``: int8, bf16 or fp32
    as given, None for ``auto`` (:func:`lrcn.device.choose_precision` for ``"score"``).
    ``compile``: None compiles the step on grids of ``COMPILE_FROM`` pairs or more. ``progress`` wraps the blocks'
    iterable (a progress bar).
    """
    device = cond.device
    precision = choose_precision("auto", device, "score").value if precision is None else precision
    if precision not in _STORE:
        raise ValueError(f"pair_logprob: precision {precision!r} (int8, bf16, fp32 or None)")
    language = "bf16" if precision != "fp32" and native("bf16", device)[0] else "fp32"  # the language-only layers'
    step = _step(len(cond) * len(targets) >= COMPILE_FROM if compile is None else compile)
    model = pair_model(captioner, precision)
    hidden = captioner.predict.in_features
    # Everything the loop indexes is on the device from here: a copy from the host inside it would wait for the device.
    lengths = (targets != pad).sum(1).cpu()  # (C,) on the CPU: the blocks' widths
    order = lengths.argsort()
    widths = [int(lengths[caps].max()) for caps in order.split(captions_per_block)]
    caption_blocks = order.to(device).split(captions_per_block)  # each block's captions, shortest first
    inputs, targets = inputs.to(device), targets.to(device)
    cols = [cond.float() @ w for w in model.static]  # per pair layer (I, 4H): the gates' per-image part
    blocks = [(b, start) for b in range(len(widths)) for start in range(0, len(cond), images_per_block)]
    out = torch.empty(len(cond), len(targets), device=device)
    current = None  # the caption block being scored: (b, targets (c, L), keep (c, L), its gates (c, L, 4H))
    for b, start in progress(blocks):
        caps, width = caption_blocks[b], widths[b]
        if current is None or current[0] != b:  # a new caption block: its language-only layers and gates, once
            tgt = targets[caps, :width]
            with autocast(device, language):
                x = captioner.embed(inputs[caps, :width])  # (c, L, E)
                for layer in captioner.layers[: model.first]:
                    x = layer(x)  # (c, L, H)
            current = b, tgt, (tgt != pad).float(), x.float() @ model.words + model.layers[0].bias
        _, tgt, keep, rows = current
        images = min(images_per_block, len(cond) - start)
        h = [torch.zeros(images, len(caps), hidden, dtype=_STORE[precision], device=device) for _ in model.layers]
        c = [torch.zeros(images, len(caps), hidden, device=device) for _ in model.layers]
        block_cols = [col[start : start + images] for col in cols]
        total = torch.zeros(images, len(caps), device=device)
        for t in range(tgt.shape[1]):
            h, c, total = step(h, c, total, model.layers, rows[:, t], block_cols, model.predict, tgt[:, t], keep[:, t])
        out[start : start + images, caps] = total
    return out.cpu()  # copied back once
