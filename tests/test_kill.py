"""Killed at any moment (SIGKILL, as the OOM killer or a pre-empted node does), a run resumed with --resume ends as
the uninterrupted run ends, bit for bit; the demo killed and started again writes the same report. The harness is
``python -m lrcn.tools.killtest`` (see the README); these run it (slow set: about 3 h on 2 loaded cores)."""
import pytest

from lrcn.tools.demokill import run_demo_kills
from lrcn.tools.killtest import PHASES, run


@pytest.mark.slow
@pytest.mark.parametrize("task", ["activity", "caption", "describe"])
def test_training_killed_at_ten_random_moments_resumes_each_time_to_the_same_weights_metrics_and_log(task, tmp_path):
    kills = run(task, kills=10, seed=0, work=tmp_path)
    assert [k.line() for k in kills if not k.same] == []
    assert {k.phase for k in kills if k.step != "none"} == set(PHASES)  # every kind of moment was hit


@pytest.mark.slow
def test_the_demo_killed_three_times_and_started_again_writes_the_uninterrupted_demos_report(tmp_path):
    result = run_demo_kills(kills=3, seed=0, work=tmp_path)
    assert len(result.kills) == 3 and result.same
