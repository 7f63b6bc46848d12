"""The export's own check: ONNX Runtime runs the graphs just written on real frames, PyTorch runs the model in fp32
on the same frames, and the export is refused if any probability differs by more than :data:`TOLERANCE`.

Activity: every class probability at every step of every test clip (each from the zero state), and of the timeline
(the state carried over the whole video). Captioning: every word's probability at every step of the greedy caption
PyTorch decodes (the ONNX step fed the same words). Describe: the same, and every SR slot's marginals. The frames are the user's (``--sample``) or an embedded
synthetic video or image, decoded and cropped by lrcn as ``lrcn classify`` / ``lrcn caption`` would.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from lrcn.errors import LrcnError
from lrcn.features.extractor import embed
from lrcn.features.inputs import Input, name_of

TOLERANCE = 1e-3  # on a probability, fp32 graphs against fp32 PyTorch


def check(task: str, predictor, graphs: dict[str, Path], sample: str | Path | None) -> dict:
    """Measure the graphs against ``predictor``'s model; the figures for ``config.json``, or LrcnError above
    :data:`TOLERANCE` (the caller then writes nothing)."""
    import onnxruntime as ort

    sessions = {k: ort.InferenceSession(str(p), providers=["CPUExecutionProvider"]) for k, p in graphs.items()}
    x, where = (sample, str(sample)) if sample is not None else embedded(task, predictor)
    worst, count = {"activity": _activity, "caption": _caption, "describe": _describe}[task](predictor, sessions, x)
    if not worst <= TOLERANCE:  # NaN fails too
        raise LrcnError(f"{predictor.bundle.path}: the ONNX graphs differ from the PyTorch model on {where}: max "
                        f"|Δp| {worst:.2g} above {TOLERANCE:g}; nothing written")
    return {"max_abs_dprob": worst, "tolerance": TOLERANCE, "probabilities": count, "on": where,
            "runtime": f"onnxruntime {ort.__version__} CPUExecutionProvider", "reference": "PyTorch fp32"}


def embedded(task: str, predictor) -> tuple[np.ndarray, str]:
    """A synthetic video of two test clips (activity; describe: 24 frames) or a synthetic scene (captioning), as
    decoded frames."""
    if task != "caption":
        from lrcn.data.synthetic.actions import render

        data = predictor.streams[0].cfg.data if task == "activity" else None
        frames = data.clip_len + data.stride if data else 24
        return render([0, 0, 0, 1], [0, 0, 0, 0, 2], 0, False, frames), f"an embedded synthetic video ({frames} frames)"
    from lrcn.data.synthetic.scenes import make_scene, render

    return render(make_scene(0, 0)[0], np.random.default_rng([0, 0, 2]), 128), "an embedded synthetic scene"


def zero_state(session, n: int) -> dict[str, np.ndarray]:
    """The step graph's state inputs (h1, c1, h2, ...: each (N, H)), zeros for ``n`` rows, in the graph's order."""
    return {i.name: np.zeros((n, i.shape[1]), np.float32) for i in session.get_inputs() if i.name[0] in "hc"
            and i.name[1:].isdigit()}


@torch.inference_mode()
def _activity(predictor, sessions, x: Input) -> tuple[float, int]:
    from lrcn.models.activity import clips_of, running_scores

    stream = predictor.streams[0]
    head, data = stream.model.head, stream.cfg.data
    crops = stream.extractor.views(x, name_of(x))[:, 0]  # (T, 3, S, S) uint8
    feats = embed(stream.extractor.backbone, crops, "fp32")  # (T, D) float16
    clips = clips_of(feats[:, None], data.clip_len, data.stride)[:, 0].float()  # (N, L, D)
    want = [head(clips)[0].float().softmax(-1).numpy(), running_scores(head, feats).numpy()]  # (N, L, C), (T, C)

    cnn, step = sessions["cnn"], sessions["step"]
    got_feats = torch.from_numpy(cnn.run(None, {"frames": crops.permute(0, 2, 3, 1).numpy()})[0])  # (T, D)
    got_clips = clips_of(got_feats[:, None], data.clip_len, data.stride)[:, 0].numpy()  # (N, L, D)
    got = [step.run(None, {"features": got_clips, **zero_state(step, len(got_clips))})[0],
           step.run(None, {"features": got_feats[None].numpy(), **zero_state(step, 1)})[0][0]]
    return max(float(np.abs(g - w).max()) for g, w in zip(got, want)), sum(w.size for w in want)


@torch.inference_mode()
def _caption(predictor, sessions, x: Input) -> tuple[float, int]:
    model = predictor.model
    crop = predictor.prepare(x, name_of(x))  # (3, S, S) uint8
    cond = model.encode(embed(predictor.extractor.backbone, crop[None], "fp32").float())  # (1, E)
    image = sessions["cnn"].run(None, {"frames": crop.permute(1, 2, 0)[None].numpy()})[0]  # (1, E)
    return _decoded(predictor, model.captioner, cond, sessions["step"], image)


@torch.inference_mode()
def _describe(predictor, sessions, x: Input) -> tuple[float, int]:
    crops = predictor.prepare(x, name_of(x))  # (n, 3, S, S) uint8: the frames sampled from the video
    feats = embed(predictor.extractor.backbone, crops, "fp32").float()  # (n, D)
    cond, _, marginals = predictor.model.infer(feats[None])  # (1, E), (1, K), (1, sum n_k)
    got_feats = sessions["cnn"].run(None, {"frames": crops.permute(0, 2, 3, 1).numpy()})[0]  # (n, D)
    image, _, got_marginals = sessions["encode"].run(None, {"features": got_feats[None]})
    worst, count = _decoded(predictor, predictor.model.describer.decoder, cond, sessions["step"], image)
    return max(worst, float(np.abs(got_marginals - marginals.numpy()).max())), count + marginals.numel()


def _decoded(predictor, captioner, cond: torch.Tensor, step, image: np.ndarray) -> tuple[float, int]:
    """Every word probability of every step of the greedy sentence PyTorch decodes from ``cond`` (1, E), and of
    ``step`` (ONNX) fed the same words and ``image``, its own graphs' image input: (max |Δp|, probabilities)."""
    from lrcn.models.decoding import greedy

    vocab = predictor.vocab
    tokens, _ = greedy(captioner, cond, vocab.bos, vocab.eos, predictor.cfg.data.max_len + 1)
    words = [vocab.bos, *tokens[0].tolist()[:-1]]  # what each step reads
    state, onnx_state = captioner.init_state(1), zero_state(step, 1)
    worst = 0.0
    for w in words:
        logits, state = captioner.step(torch.tensor([w]), state, cond)
        out = step.run(None, {"words": np.array([w]), "image": image, **onnx_state})
        onnx_state = dict(zip(onnx_state, out[1:]))
        worst = max(worst, float(np.abs(np.exp(out[0]) - logits.float().softmax(-1).numpy()).max()))
    return worst, len(words) * len(vocab)
