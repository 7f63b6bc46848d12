"""LRCN captioners (research.md §2): an LSTM language model with a static input fed at every step.

The static input ``cond`` is the image feature for captioning (the describe task feeds its SR vectors).
Variants, as in the authors' ``lrcn.prototxt`` (``BVLC/caffe: examples/coco_caption``):

- ``lrcn1u``: one LSTM; word embedding and ``cond`` both enter it.
- ``lrcn2u``: two LSTMs, unfactored; word and ``cond`` enter the first, the second reads the first.
- ``lrcn2f``: two LSTMs, factored (the paper's default); the first sees only words ("blind" to vision),
  the second reads the first and ``cond``.
- ``lrcn4f``: four LSTMs, factored: two language-only, then two that each read the layer below and
  ``cond``. The DESIGN names this variant, but no written source for it was found (research.md §2):
  this layout is our reading of "factored, 4 layers", not a confirmed one.

Every tensor broadcasts over leading dimensions: ``cond`` (I, 1, D) with ``words`` (1, C, L) scores
all I x C (image, caption) pairs, and a language-only layer then runs once per caption, not once per pair.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from lrcn.config import arg

# variant -> for each LSTM layer, bottom first: does it read the static input?
VARIANTS: dict[str, tuple[bool, ...]] = {
    "lrcn1u": (True,),
    "lrcn2u": (True, False),
    "lrcn2f": (False, True),
    "lrcn4f": (False, False, True, True),
}

State = tuple[torch.Tensor, ...]  # (h1, c1, h2, c2, ...), each (B, H)


@dataclass
class CaptionModelConfig:
    variant: str = arg("lrcn2f", "LSTM layout (see lrcn.models.captioner).", choices=tuple(VARIANTS))
    embed_dim: int = arg(512, "Word embedding width (the paper: 1000).", low=1)
    hidden: int = arg(512, "LSTM width (the paper: 1000).", low=1)
    image_dim: int = arg(512, "Width of the projected image feature fed at every step (the paper: fc8, 1000).", low=1)
    dropout: float = arg(0.5, "Dropout on the image projection and the top LSTM's output.", low=0, high=1)


class LSTMLayer(nn.Module):
    """An LSTM layer whose gates are W_x x_t + W_c c + W_h h_{t-1} + b, with c a static input (optional)."""

    def __init__(self, input_dim: int, hidden: int, static_dim: int = 0):
        super().__init__()
        self.hidden = hidden
        self.input = nn.Linear(input_dim, 4 * hidden)
        self.static = nn.Linear(static_dim, 4 * hidden, bias=False) if static_dim else None
        self.recurrent = nn.Linear(hidden, 4 * hidden, bias=False)

    def static_gates(self, cond: torch.Tensor) -> torch.Tensor | float:
        return self.static(cond) if self.static is not None else 0.0  # (..., 4H)

    def cell(self, gates_in: torch.Tensor, h: torch.Tensor | None, c: torch.Tensor | None
             ) -> tuple[torch.Tensor, torch.Tensor]:
        """One step from the input part of the gates (..., 4H) and the state (..., H); None is the zero state."""
        if h is None:
            gates = gates_in
        else:  # the recurrent product added inside the GEMM: one pass less over the (..., 4H) gates
            shape = torch.broadcast_shapes(gates_in.shape[:-1], h.shape[:-1])
            gates = torch.addmm(gates_in.expand(*shape, -1).reshape(-1, gates_in.shape[-1]), h.reshape(-1, self.hidden),
                                self.recurrent.weight.t()).view(*shape, -1)
        i, f, g, o = gates.chunk(4, dim=-1)  # torch's gate layout, so that forward can use its fused LSTM
        c = i.sigmoid() * g.tanh() if c is None else torch.addcmul(f.sigmoid() * c, i.sigmoid(), g.tanh())
        return o.sigmoid() * c.tanh(), c

    def forward(self, x: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        """x (..., L, In), cond (..., D) (None for a layer with no static input) -> outputs (..., L, H), from a
        zero state."""
        if self.static is None:
            return self._fused(x, None)
        if cond is None:
            raise ValueError("this LSTM layer reads a static input: give cond")
        batch = torch.broadcast_shapes(x.shape[:-2], cond.shape[:-1])
        if x.shape[:-2] == batch and cond.shape[:-1] == batch:
            return self._fused(x, cond)
        x_gates = self.input(x)  # (..., L, 4H): projected once for all steps
        c_gates = self.static_gates(cond)  # (..., 4H): once for the sequence
        h = c = None
        out = []
        for t in range(x.shape[-2]):
            h, c = self.cell(x_gates[..., t, :] + c_gates, h, c)
            out.append(h)
        return torch.stack(out, dim=-2)

    def _fused(self, x: torch.Tensor, cond: torch.Tensor | None) -> torch.Tensor:
        """The same layer through torch's fused LSTM (oneDNN on CPU, ~3x faster), when no input is broadcast
        across another: the static input joins the sequence input at every step."""
        weight = self.input.weight
        if self.static is not None:
            x = torch.cat([x, cond[..., None, :].expand(*x.shape[:-1], cond.shape[-1])], dim=-1)
            weight = torch.cat([weight, self.static.weight], dim=1)
        seq = x.reshape(-1, *x.shape[-2:])  # (B, L, In)
        zeros = seq.new_zeros(1, seq.shape[0], self.hidden)
        bias = self.input.bias
        out = torch.lstm(seq, (zeros, zeros), [weight, self.recurrent.weight, bias, torch.zeros_like(bias)],
                         True, 1, 0.0, self.training, False, True)[0]  # (B, L, H)
        # contiguous: torch.lstm's batch-first output is a transposed view, and a Linear over a non-contiguous
        # (..., L, H) falls back to a batched matmul that copies its weight once per sequence
        return out.contiguous().view(*x.shape[:-1], self.hidden)


class Captioner(nn.Module):
    """LRCN captioner: words (..., L) and a static input (..., cond_dim) -> next-word logits (..., L, V).

    ``dropout`` applies to the top LSTM's output, before the word prediction (dropping every layer's output
    too cost 15 % of a CPU training step in random-number generation alone).
    """

    def __init__(self, vocab_size: int, cond_dim: int, variant: str = "lrcn2f", embed_dim: int = 512,
                 hidden: int = 512, dropout: float = 0.0):
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"unknown captioner variant {variant!r}; choose from {', '.join(VARIANTS)}")
        self.variant = variant
        self.embed = nn.Embedding(vocab_size, embed_dim)
        self.layers = nn.ModuleList(
            LSTMLayer(embed_dim if k == 0 else hidden, hidden, cond_dim if sees else 0)
            for k, sees in enumerate(VARIANTS[variant])
        )
        self.drop = nn.Dropout(dropout)
        self.predict = nn.Linear(hidden, vocab_size)
        for p in self.parameters():  # the authors' uniform +-0.08 (lrcn.prototxt)
            nn.init.uniform_(p, -0.08, 0.08)

    def forward(self, cond: torch.Tensor, words: torch.Tensor) -> torch.Tensor:
        """Teacher forcing: cond (..., D), words (..., L) -> logits (..., L, V) for the word after each."""
        x = self.embed(words)  # (..., L, E)
        for layer in self.layers:
            x = layer(x, cond)  # (..., L, H)
        return self.predict(self.drop(x))

    def init_state(self, batch_size: int) -> State:
        zeros = self.predict.weight.new_zeros(batch_size, self.predict.in_features)  # (B, H)
        return tuple(zeros for _ in range(2 * len(self.layers)))

    def step(self, words: torch.Tensor, state: State, cond: torch.Tensor) -> tuple[torch.Tensor, State]:
        """One step: words (B,), state, cond (B, D) -> (logits (B, V), new state)."""
        x = self.embed(words)  # (B, E)
        new: list[torch.Tensor] = []
        for k, layer in enumerate(self.layers):
            h, c = layer.cell(layer.input(x) + layer.static_gates(cond), state[2 * k], state[2 * k + 1])
            new += [h, c]
            x = h
        return self.predict(self.drop(x)), tuple(new)


class ImageCaptioner(nn.Module):
    """What a caption run holds: CNN features (B, D) -> the static input (B, image_dim) -> the LRCN captioner; with
    a fine-tuned CNN (``backbone``), images (B, 3, S, S) go through it first.

    The image input is the standardised CNN feature, a linear map (the authors feed fc8, pre-softmax), then
    LayerNorm: with ~10^4 inputs per unit, Adam's steps move the projection by a lot; unnormalised, the LSTMs
    then learned nothing (a ReLU instead died out: every caption the same).
    """

    def __init__(self, feature_dim: int, vocab_size: int, cfg: CaptionModelConfig, backbone: nn.Module | None = None):
        super().__init__()
        self.backbone = backbone
        self.image_fc = nn.Sequential(nn.BatchNorm1d(feature_dim), nn.Linear(feature_dim, cfg.image_dim),
                                      nn.LayerNorm(cfg.image_dim), nn.Dropout(cfg.dropout))
        self.captioner = Captioner(vocab_size, cfg.image_dim, cfg.variant, cfg.embed_dim, cfg.hidden, cfg.dropout)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Features (B, D), or images (B, 3, S, S) through the CNN -> the static input (B, image_dim)."""
        if self.backbone is not None and x.dim() == 4:
            x = self.backbone(x)
        return self.image_fc(x.float())

    def forward(self, x: torch.Tensor, words: torch.Tensor) -> torch.Tensor:
        """Teacher forcing: images' features (B, D) and words (B, L) -> next-word logits (B, L, V)."""
        return self.captioner(self.encode(x), words)


def sentence_logprob(model: Captioner, cond: torch.Tensor, inputs: torch.Tensor, targets: torch.Tensor,
                     pad: int, floor: float | None = None) -> torch.Tensor:
    """Teacher-forced sum over t of log p(target_t | inputs_<=t, cond), padding ignored.

    cond (..., D), inputs and targets (..., L) -> (...). Broadcasts: cond (I, 1, D) with inputs (1, C, L)
    gives the (I, C) log-likelihood of every caption under every image, through the model's own forward (the
    reference for :func:`lrcn.models.pair_score.pair_logprob`, which scores large grids). ``floor`` bounds
    each word's probability from below (the authors' retrieval code uses 1e-12).
    """
    logp = model(cond, inputs).float().log_softmax(-1)  # (..., L, V)
    targets = targets.expand(logp.shape[:-1])
    word = logp.gather(-1, targets.unsqueeze(-1)).squeeze(-1)  # (..., L)
    if floor is not None:
        word = word.clamp_min(math.log(floor))
    return word.masked_fill(targets == pad, 0.0).sum(-1)
