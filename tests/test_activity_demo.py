import json
import os

import pytest

from cli import lrcn


@pytest.mark.slow
def test_quick_demo_writes_the_table_1_grid_and_results(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    lrcn("demo", "--quick", "--only", "activity", "--out", tmp_path, env=env)
    results = json.loads((tmp_path / "results.json").read_text())["activity"]
    for arch in ("single_frame", "lrcn"):
        assert 0 <= results["rgb"][arch] <= 1
    report = (tmp_path / "report.md").read_text()
    assert "| Single frame |" in report and "| LRCN |" in report and "67.37" in report
    for run in ("activity-rgb-lrcn", "activity-rgb-single-frame"):
        assert (tmp_path / run / "confusion.png").is_file() and (tmp_path / run / "metrics.json").is_file()
    assert (tmp_path / "activity-curves.png").is_file()
