"""Decoding a sentence from a step-wise language model: greedy, beam search, best-of-N sampling.

``model`` is anything with ``init_state(batch_size) -> state`` (a tuple of tensors, batch in dim 0) and
``step(words (B,), state, cond (B, D)) -> (logits (B, V), state)``, e.g. :class:`lrcn.models.captioner.Captioner`.
Every decoder runs a whole batch of images at once: beams and samples are extra rows of one batch,
never a Python loop over images. A sentence's score is the sum of log p(w_t) of its words and of the
final ``eos`` (when it was produced within ``max_len`` steps). Callers put the model in eval mode.
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace

import torch

from lrcn.config import arg, check
from lrcn.errors import LrcnError

Candidate = tuple[list[int], float]  # (tokens without eos, score)
SYNC_EVERY = 4  # on a GPU, whether every sentence has ended is read every 4th step (each read waits for the device)


def trim(tokens: torch.Tensor, eos: int) -> list[list[int]]:
    """(B, L) decoded tokens -> per row, the tokens before the first ``eos``."""
    return [_until(row, eos) for row in tokens.tolist()]


def _all_done(done: torch.Tensor, step: int) -> bool:
    """Whether every row has ended, read every step on the CPU and every :data:`SYNC_EVERY` steps elsewhere: the
    steps run meanwhile extend finished rows by ``eos`` at no cost, so the sentences and scores are the same."""
    every = 1 if done.device.type == "cpu" else SYNC_EVERY
    return (step + 1) % every == 0 and bool(done.all())


def _reindex(state: tuple[torch.Tensor, ...], index: torch.Tensor) -> tuple[torch.Tensor, ...]:
    return tuple(s.index_select(0, index) for s in state)


@torch.no_grad()
def _decode(model, cond: torch.Tensor, bos: int, eos: int, max_len: int, choose) -> tuple[torch.Tensor, torch.Tensor]:
    """Left to right; ``choose(logp (B, V)) -> (B,)`` picks each next word. Returns (tokens (B, L), logprob (B,)).

    After a row's ``eos``, its later tokens are ``eos`` and add nothing to its log-probability.
    """
    batch = cond.shape[0]
    words = torch.full((batch,), bos, dtype=torch.long, device=cond.device)
    state = model.init_state(batch)
    logprob = cond.new_zeros(batch)
    done = torch.zeros(batch, dtype=torch.bool, device=cond.device)
    tokens = []
    for step in range(max_len):
        logits, state = model.step(words, state, cond)
        logp = logits.float().log_softmax(-1)  # (B, V)
        words = choose(logp).masked_fill(done, eos)
        logprob = logprob + logp.gather(1, words[:, None]).squeeze(1).masked_fill(done, 0.0)
        tokens.append(words)
        done = done | (words == eos)
        if _all_done(done, step):
            break
    return torch.stack(tokens, 1), logprob


def greedy(model, cond: torch.Tensor, bos: int, eos: int, max_len: int = 20) -> tuple[torch.Tensor, torch.Tensor]:
    """The most likely word at every step. cond (B, D) -> (tokens (B, L), logprob (B,)); see :func:`trim`."""
    return _decode(model, cond, bos, eos, max_len, lambda logp: logp.argmax(-1))


def sample(model, cond: torch.Tensor, bos: int, eos: int, n: int = 1, temperature: float = 1.0, max_len: int = 20,
           generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw ``n`` captions per image and keep the one the model finds most likely (the paper's best COCO setting).

    Words are drawn from softmax(logits / temperature): T > 1 flattens, T < 1 sharpens. (The authors'
    ``captioner.py`` computes softmax(temp * logits), an inverse temperature; whether the paper's
    "T = 1.5" divides or multiplies is unconfirmed, research.md §2.) Candidates are ranked by their
    log-probability under the model itself (T = 1). cond (B, D) -> (tokens (B, L), logprob (B,)).
    """
    if temperature <= 0:
        raise ValueError("temperature must be > 0")
    batch = cond.shape[0]
    rows = cond.repeat_interleave(n, dim=0)  # (B*n, D): image b's samples are rows b*n .. b*n+n-1

    def draw(logp: torch.Tensor) -> torch.Tensor:
        probs = (logp / temperature).softmax(-1)
        return torch.multinomial(probs, 1, generator=generator).squeeze(1)

    tokens, logprob = _decode(model, rows, bos, eos, max_len, draw)
    best = logprob.view(batch, n).argmax(1) + torch.arange(batch, device=cond.device) * n  # (B,)
    return tokens[best], logprob[best]


@torch.no_grad()
def beam_search(model, cond: torch.Tensor, bos: int, eos: int, beam_size: int = 5, max_len: int = 20,
                length_norm: bool = False) -> list[list[Candidate]]:
    """Keep the ``beam_size`` best partial sentences per image; return each image's beam, best first.

    cond (B, D) -> B lists of (tokens, score). A finished sentence stays in the beam with its score
    fixed and competes with the unfinished ones; the search stops when every beam has finished or
    after ``max_len`` words. ``score`` is the log-probability, divided by the length (words + eos)
    when ``length_norm``; the final order uses that score. With ``beam_size=1`` this is :func:`greedy`.
    """
    batch, k = cond.shape[0], beam_size
    device = cond.device
    rows = cond.repeat_interleave(k, dim=0)  # (B*k, D)
    state = model.init_state(batch * k)
    words = torch.full((batch * k,), bos, dtype=torch.long, device=device)
    scores = torch.full((batch, k), float("-inf"), device=device)
    scores[:, 0] = 0.0  # one live hypothesis per image at the start
    done = torch.zeros(batch, k, dtype=torch.bool, device=device)
    history = torch.empty(batch, k, 0, dtype=torch.long, device=device)
    lengths = torch.zeros(batch, k, device=device)
    for step in range(max_len):
        logits, state = model.step(words, state, rows)
        logp = logits.float().log_softmax(-1).view(batch, k, -1)  # (B, k, V)
        vocab = logp.shape[-1]
        # A finished hypothesis extends only by eos, at no cost: it keeps its place and its score.
        frozen = torch.full_like(logp, float("-inf"))
        frozen[..., eos] = 0.0
        logp = torch.where(done[..., None], frozen, logp)
        total = (scores[..., None] + logp).view(batch, k * vocab)  # (B, k*V)
        scores, flat = total.topk(k, dim=1)  # (B, k), sorted best first
        parent, words2d = flat // vocab, flat % vocab  # (B, k)
        history = torch.cat([history.gather(1, parent[..., None].expand(-1, -1, history.shape[-1])),
                             words2d[..., None]], dim=-1)
        was_done = done.gather(1, parent)
        lengths = lengths.gather(1, parent) + (~was_done).float()
        done = was_done | (words2d == eos)
        index = (parent + torch.arange(batch, device=device)[:, None] * k).view(-1)  # rows of the parents
        state = _reindex(state, index)
        words = words2d.view(-1)
        if _all_done(done, step):
            break
    final = (scores / lengths.clamp_min(1) if length_norm else scores).cpu()  # (B, k), copied back once
    history = history.cpu()
    out = []
    for b in range(batch):
        order = final[b].argsort(descending=True).tolist()
        beam = [(_until(history[b, j].tolist(), eos), final[b, j].item()) for j in order if final[b, j] > float("-inf")]
        out.append(beam)
    return out


def _until(tokens: list[int], eos: int) -> list[int]:
    return tokens[: tokens.index(eos)] if eos in tokens else tokens


@dataclass
class Decoding:
    """How a sentence is decoded: greedy (beam 1), beam search, or the best of ``sample`` draws at ``temperature``."""

    beam: int = arg(1, "Beam width (1: greedy).", low=1)
    sample: int = arg(0, "Draw N sentences and keep the most likely (the paper's best COCO setting: 100).", low=0)
    temperature: float = arg(1.0, "Sampling temperature: logits are divided by T.")
    length_norm: bool = arg(False, "Rank beam candidates by log-probability per word.")
    seed: int = arg(0, "Sampling seed.", low=0)

    def check(self) -> "Decoding":
        check(self)  # the fields' ranges
        if self.temperature <= 0:
            raise LrcnError(f"--temperature {self.temperature}: must be above 0")
        if self.sample and self.beam > 1:
            raise LrcnError("--beam and --sample are alternatives: give one")
        return self


def configure_decoding(decoding: Decoding, options: dict) -> Decoding:
    """``decoding`` with some fields changed (``{"beam": 5}``); LrcnError for an unknown field or a bad value."""
    known = {f.name for f in fields(Decoding)}
    unknown = sorted(set(options) - known)
    if unknown:
        raise LrcnError(f"unknown decoding option(s) {', '.join(unknown)} (options: {', '.join(sorted(known))})")
    return replace(decoding, **options).check()


@torch.no_grad()
def decode(model, cond: torch.Tensor, bos: int, eos: int, decoding: Decoding, max_len: int = 20,
           batch_size: int = 250) -> list[list[Candidate]]:
    """Sentences for static inputs cond (N, D), in batches: per input, its candidates best first (the whole beam
    with ``beam > 1``, else one). ``max_len`` words, then ``eos``: ``max_len + 1`` steps."""
    generator = torch.Generator(device=cond.device).manual_seed(decoding.seed)
    steps = max_len + 1
    out: list[list[Candidate]] = []
    for chunk in cond.split(batch_size):
        if decoding.beam > 1:
            out += beam_search(model, chunk, bos, eos, decoding.beam, steps, decoding.length_norm)
            continue
        if decoding.sample > 0:
            tokens, lp = sample(model, chunk, bos, eos, decoding.sample, decoding.temperature, steps, generator)
        else:
            tokens, lp = greedy(model, chunk, bos, eos, steps)
        out += [[(words, score)] for words, score in zip(trim(tokens, eos), lp.tolist())]
    return out
