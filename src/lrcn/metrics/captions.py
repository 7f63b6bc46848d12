"""Caption metrics of the COCO evaluation server, computed by its own code (``pycocoevalcap``).

BLEU-1..4, METEOR, ROUGE-L and CIDEr-D (pycocoevalcap's ``Cider`` is the CIDEr-D form: clipped counts
and a length penalty, sigma 6), after the PTB tokenizer, as the server does. The tokenizer and
METEOR are Java programs shipped in the package: without ``java`` this is an error, never a silent
skip. SPICE needs Stanford CoreNLP models downloaded at first use, so it cannot run offline and is
skipped with one line on stderr.
"""
from __future__ import annotations

import contextlib
import io
import logging
import shutil
from typing import Hashable

from lrcn.errors import LrcnError
from lrcn.extras import module

log = logging.getLogger(__name__)

METRICS = ("bleu1", "bleu2", "bleu3", "bleu4", "meteor", "rouge_l", "cider")


def caption_scores(references: dict[Hashable, list[str]], hypotheses: dict[Hashable, str]) -> dict[str, float]:
    """Corpus scores of one hypothesis per id against its references: {bleu1..bleu4, meteor, rouge_l, cider}."""
    return caption_scores_many(references, {"": hypotheses})[""]


def caption_scores_many(references: dict[Hashable, list[str]],
                        systems: dict[str, dict[Hashable, str]]) -> dict[str, dict[str, float]]:
    """:func:`caption_scores` of several systems on the same references, with one start of each Java program."""
    for name, hypotheses in systems.items():
        if set(references) != set(hypotheses):
            missing = sorted(map(str, set(references) ^ set(hypotheses)))[:3]
            raise ValueError(f"{name or 'hypotheses'}: not the ids of the references (e.g. {', '.join(missing)})")
    if not references:
        raise ValueError("no captions to score")
    if shutil.which("java") is None:
        raise LrcnError("caption metrics: `java` not found on PATH; METEOR and the PTB tokenizer of pycocoevalcap "
                        "need a Java runtime (e.g. apt-get install default-jre-headless)")
    module("pycocoevalcap")  # one line naming the package if it is missing
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.meteor.meteor import Meteor
    from pycocoevalcap.rouge.rouge import Rouge
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    keys = {key: str(n) for n, key in enumerate(references)}  # the tokenizer's bookkeeping wants plain keys
    tokenizer = PTBTokenizer()
    gts = tokenizer.tokenize({keys[k]: [{"caption": c} for c in refs] for k, refs in references.items()})
    tokenized = tokenizer.tokenize({  # every system's hypotheses in one run of the tokenizer
        f"{s}|{keys[k]}": [{"caption": h}] for s, (_, hyps) in enumerate(systems.items()) for k, h in hyps.items()
    })
    meteor_scorer = Meteor()
    out = {}
    try:
        for s, name in enumerate(systems):
            res = {key: tokenized[f"{s}|{key}"] for key in gts}
            with contextlib.redirect_stdout(io.StringIO()):  # Bleu prints its counts
                bleu, _ = Bleu(4).compute_score(gts, res)
            meteor, _ = meteor_scorer.compute_score(gts, res)
            rouge, _ = Rouge().compute_score(gts, res)
            cider, _ = Cider().compute_score(gts, res)
            out[name] = {k: float(v) for k, v in zip(METRICS, [*bleu, meteor, rouge, cider])}
    finally:
        del meteor_scorer  # its __del__ stops the Java process
    log.info("caption metrics: SPICE skipped (it downloads Stanford CoreNLP models at first use; no network here)")
    return out
