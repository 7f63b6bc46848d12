"""``lrcn doctor``: the machine, the versions and every auto choice, as JSON a bug report can carry; the same facts
the policy decides by (an AMX machine held to AVX2 reports and chooses as an AVX2 one)."""
import json
import os
import platform

import pytest

from cli import lrcn
from lrcn.doctor import report

pytestmark = pytest.mark.cpu_kinds  # make test runs these again held to AVX2
OPTIONS = {"--engine", "--cnn-precision", "--precision (training)", "eval retrieval --precision", "--workers"}


def test_doctor_json_names_the_isa_the_versions_and_every_auto_choice():
    facts = json.loads(lrcn("doctor", "--json").stdout)
    cpu = facts["machine"]["cpu"]
    assert cpu["model"] and cpu["cores"] >= 1 and cpu["isa"] and isinstance(cpu["features"], list)
    for package in ("python", "torch", "openvino", "onnxruntime", "av", "ffmpeg", "opencv", "lightning"):
        assert facts["versions"][package], package
    assert set(facts["auto"]["cpu"]) == OPTIONS
    assert all(c["value"] and c["why"] for c in facts["auto"]["cpu"].values())
    assert facts == json.loads(json.dumps(report()))  # the command prints the library's report


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="ONEDNN_MAX_CPU_ISA=AVX2 is an x86 switch")
def test_held_to_avx2_the_doctor_reports_and_chooses_as_on_an_avx2_machine():
    env = {**os.environ, "ONEDNN_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"}
    facts = json.loads(lrcn("doctor", "--json", env=env).stdout)
    cpu = facts["machine"]["cpu"]
    assert cpu["features"] == ["AVX2"] and cpu["bf16"] is False and cpu["onednn_max_cpu_isa"] == "AVX2"
    assert {o: c["value"] for o, c in facts["auto"]["cpu"].items() if o != "--workers"} == {
        "--engine": "openvino", "--cnn-precision": "fp32", "--precision (training)": "fp32",
        "eval retrieval --precision": "fp32"}
    text = lrcn("doctor", env=env).stdout
    assert "held to AVX2 by ONEDNN_MAX_CPU_ISA" in text and "no bf16 dot products" in text
