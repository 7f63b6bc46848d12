"""The one run lifecycle: new, resumed, forced, locked; the config saved, never rebuilt from flags."""
import multiprocessing as mp

import pytest
import yaml

from lrcn.errors import LrcnError
from lrcn.runs import open_run, read_config, start
from lrcn.tasks.activity.config import ActivityConfig


def new_run(path, **flags):
    cfg = ActivityConfig()
    cfg.train.epochs = flags.get("epochs", 3)
    with start(path, "activity", cfg) as run:
        (run.path / "checkpoints").mkdir()
        return run


def test_a_new_run_writes_its_config_tagged_with_its_task(tmp_path):
    run = new_run(tmp_path / "r")
    task, data = read_config(tmp_path / "r")
    assert task == "activity" and data["train"]["epochs"] == 3 and run.resume_from is None
    assert open_run(tmp_path / "r", "activity", ActivityConfig).config.train.epochs == 3
    with pytest.raises(LrcnError, match="an activity run, not a caption run"):
        open_run(tmp_path / "r", "caption", ActivityConfig)
    with pytest.raises(LrcnError, match="not a run folder"):
        read_config(tmp_path)


def test_training_into_an_existing_run_needs_resume_or_force(tmp_path):
    new_run(tmp_path / "r")
    with start(tmp_path / "r", "activity", ActivityConfig()):  # it never reached a checkpoint: started over
        pass
    new_run(tmp_path / "r2")
    (tmp_path / "r2" / "checkpoints" / "last.ckpt").write_bytes(b"x")
    with pytest.raises(LrcnError, match="a run folder already; pass --resume to continue it, --force"):
        start(tmp_path / "r2", "activity", ActivityConfig())
    with start(tmp_path / "r2", "activity", ActivityConfig(), force=True) as run:
        assert not (run.path / "checkpoints").exists()  # started over
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.txt").write_text("mine")
    with pytest.raises(LrcnError, match="not empty and not a run folder"):
        start(tmp_path / "notes", "activity", ActivityConfig(), force=True)
    assert (tmp_path / "notes" / "a.txt").read_text() == "mine"


def test_resume_of_a_run_killed_before_it_saved_its_config_starts_it_with_the_config_given(tmp_path):
    cfg = ActivityConfig()
    cfg.train.epochs = 7
    with start(tmp_path / "none", "activity", cfg, resume=True, flags={"train.epochs": 7}) as run:
        assert run.resume_from is None and run.config.train.epochs == 7
    assert read_config(tmp_path / "none")[1]["train"]["epochs"] == 7


def test_resume_takes_the_saved_config_and_only_resumable_flags(tmp_path):
    new_run(tmp_path / "r")
    (tmp_path / "r" / "checkpoints" / "last.ckpt").write_bytes(b"x")
    with start(tmp_path / "r", "activity", ActivityConfig(), resume=True, flags={"train.epochs": 6}) as run:
        assert run.config.train.epochs == 6 and run.resume_from == tmp_path / "r" / "checkpoints" / "last.ckpt"
    assert yaml.safe_load((tmp_path / "r" / "config.yaml").read_text())["train"]["epochs"] == 6
    with pytest.raises(LrcnError, match="--image-size: a resumed run keeps its config"):
        start(tmp_path / "r", "activity", ActivityConfig(), resume=True, flags={"features.image_size": 64})


def test_a_run_killed_before_its_first_checkpoint_resumes_by_starting_over(tmp_path):
    new_run(tmp_path / "r", epochs=4)
    (tmp_path / "r" / "logs").mkdir()
    (tmp_path / "r" / "logs" / "metrics.csv").write_text("half")
    with start(tmp_path / "r", "activity", ActivityConfig(), resume=True, flags={}) as run:
        assert run.resume_from is None and run.config.train.epochs == 4
        assert not (tmp_path / "r" / "logs").exists() and (tmp_path / "r" / "config.yaml").is_file()


def _hold(path, ready, done):
    with start(path, "activity", ActivityConfig(), force=True):
        ready.set()
        done.wait(30)


def test_a_second_training_of_the_same_run_is_refused_while_the_first_runs(tmp_path):
    ctx = mp.get_context("spawn")
    ready, done = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold, args=(tmp_path / "r", ready, done))
    holder.start()
    try:
        assert ready.wait(60)
        with pytest.raises(LrcnError, match="another process is training this run"):
            start(tmp_path / "r", "activity", ActivityConfig(), resume=True, flags={})
    finally:
        done.set()
        holder.join(30)
    with start(tmp_path / "r", "activity", ActivityConfig(), force=True):  # free again once it ended
        pass


def test_the_lock_is_the_training_process_alone_so_a_killed_runs_lingering_workers_never_hold_it(tmp_path):
    import os
    import signal
    import time

    run = start(tmp_path / "r", "activity", ActivityConfig(), force=True)
    ready, started = os.pipe()
    worker = os.fork()  # as a DataLoader worker is forked; it outlives a parent killed with SIGKILL for a while
    if worker == 0:
        os.write(started, b"!")  # the fork hooks have run
        time.sleep(30)
        os._exit(0)
    try:
        assert os.read(ready, 1) == b"!"
        run.release()  # the training process is gone
        with start(tmp_path / "r", "activity", ActivityConfig(), resume=True, flags={}):
            pass  # not refused: the worker still alive did not hold the lock
    finally:
        os.kill(worker, signal.SIGKILL)
        os.waitpid(worker, 0)
