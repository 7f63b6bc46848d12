"""A model travels between the two kinds of CPU: trained and exported where oneDNN's, MKL's and torch's kernels are held
to AVX2 (``auto`` resolves to fp32 there: OpenVINO fp32 features, fp32 training), then loaded here, where ``auto``
resolves to what this CPU does natively (bf16 features on an AMX or AVX512_BF16 CPU). The promise (README, "A model
crosses kinds of CPU"): the same labels, and every class probability within 0.05 (bf16 features against fp32 ones:
cosine ~0.99). On a CPU without bf16 both sides run fp32 and the answers are equal to float rounding.

Also: caption training asked for bf16 where the CPU has no bf16 trains, in fp32, with one warning line."""
import json
import os

import yaml

from activity_data import write_ucf101
from cli import lrcn
from lrcn.hardware import cpu

HELD_TO_AVX2 = {"ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_ENABLE_INSTRUCTIONS": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"}
TINY = ["--image-size", "96", "--pca", "0", "--fc6", "64", "--hidden", "32", "--batch-size", "8", "--workers", "0"]
TOLERANCE = 0.05  # absolute, on each class probability (measured: up to 0.03 here)


def answers(out) -> list[dict]:
    return [json.loads(line) for line in out.stdout.splitlines()]


def test_an_export_made_on_an_avx2_cpu_gives_the_same_answers_on_this_one(tmp_path):
    data = write_ucf101(tmp_path / "UCF101", groups=10, test_groups=2)
    here = {**os.environ, "LRCN_CACHE": str(tmp_path / "cache-here"), "OMP_NUM_THREADS": "1"}
    held = {**here, **HELD_TO_AVX2, "LRCN_CACHE": str(tmp_path / "cache-avx2")}
    run, out = tmp_path / "run", tmp_path / "export"
    lrcn("train", "activity", "--data", data, "--out", run, "--epochs", 12, *TINY, env=held)
    resolved = json.dumps(yaml.safe_load((run / "config.yaml").read_text())["resolved"])
    assert '"features.precision": {"asked": "auto", "value": "fp32"' in resolved  # the AVX2 side ran fp32
    lrcn("export", run, out, env=held)
    videos = sorted(data.glob("*/*_g0[9]_c01.avi")) + sorted(data.glob("*/*_g10_c01.avi"))
    command = ["classify", out, *videos, "--json", "--top-k", "2"]
    there, back = answers(lrcn(*command, env=held)), answers(lrcn(*command, env=here))
    assert [a["label"] for a in back] == [a["label"] for a in there] == [v.parent.name for v in videos]
    for a, b in zip(there, back):
        probs = lambda x: {t["label"]: t["score"] for t in x["top"]}  # noqa: E731
        assert probs(a).keys() == probs(b).keys()
        assert max(abs(probs(a)[k] - probs(b)[k]) for k in probs(a)) <= TOLERANCE, (a, b)
    if cpu().bf16:  # the two sides did run different precisions: the CNN's features differ
        assert any(a["top"] != b["top"] for a, b in zip(there, back))


def test_caption_training_asked_for_bf16_on_an_avx2_cpu_trains_in_fp32_with_one_warning(tmp_path):
    from lrcn.data.synthetic.scenes import write_scenes

    data = write_scenes(tmp_path / "scenes", seed=0, num_train=12, num_val=4, num_test=4, image_size=64, workers=1)
    held = {**os.environ, **HELD_TO_AVX2, "LRCN_CACHE": str(tmp_path / "cache")}
    out = lrcn("train", "caption", "--data", data, "--out", tmp_path / "run", "--precision", "bf16", "--epochs", 1,
               "--min-count", 1, "--image-size", 56, "--embed-dim", 16, "--hidden", 16, "--image-dim", 16,
               "--workers", 0, env=held)
    warnings = [line for line in out.stderr.splitlines() if line.startswith("warning:")]
    assert warnings == ["warning: precision bf16 is not native here: this CPU has no bf16 dot products (AVX2, held to "
                        "AVX2 by ONEDNN_MAX_CPU_ISA); running fp32"]
    assert "Traceback" not in out.stderr and (tmp_path / "run" / "checkpoints" / "last.ckpt").is_file()
