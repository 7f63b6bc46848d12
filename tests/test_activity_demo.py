import json
import os

import pytest

from cli import lrcn


@pytest.mark.slow
def test_quick_demo_writes_the_table_1_grid_and_results(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    lrcn("demo", "--quick", "--only", "activity", "--out", tmp_path, env=env)
    results = json.loads((tmp_path / "results.json").read_text())["activity"]
    report = (tmp_path / "report.md").read_text().splitlines()
    for arch, run, label, paper in (("single_frame", "single-frame", "Single frame", "67.37"),
                                    ("lrcn", "lrcn", "LRCN", "68.20")):
        metrics = json.loads((tmp_path / f"activity-rgb-{run}" / "metrics.json").read_text())
        assert results["rgb"][arch] == metrics["video_acc"]  # the table is the runs' own evaluation
        row = next(line for line in report if line.startswith(f"| {label} |"))
        assert row.startswith(f"| {label} | {100 * metrics['video_acc']:.1f} | {paper} |")  # ours beside the paper's
        assert len(row.split("|")) == 10  # 4 columns x (ours, paper)
    for run in ("activity-rgb-lrcn", "activity-rgb-single-frame"):
        assert (tmp_path / run / "confusion.png").is_file() and (tmp_path / run / "metrics.json").is_file()
    assert (tmp_path / "activity-curves.png").is_file()


def test_every_section_and_its_predictors_share_one_cache(monkeypatch, tmp_path):
    from lrcn.demo import DemoContext, _cache_default

    ctx = DemoContext(tmp_path / "out", quick=True, seed=0)
    monkeypatch.delenv("LRCN_CACHE", raising=False)
    with _cache_default(ctx.cache):
        assert os.environ["LRCN_CACHE"] == str((tmp_path / "out" / "cache").resolve())
    monkeypatch.setenv("LRCN_CACHE", str(tmp_path / "mine"))  # the user's: training and predictors both use it
    with _cache_default(ctx.cache):
        assert ctx.cache == tmp_path / "mine" and os.environ["LRCN_CACHE"] == str(tmp_path / "mine")
    assert os.environ["LRCN_CACHE"] == str(tmp_path / "mine")
