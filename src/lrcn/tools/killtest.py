"""``python -m lrcn.tools.killtest``: kill training with SIGKILL at seeded random moments, resume it, and check that
nothing was lost.

For a task (activity, caption, describe) on a small data set it makes itself, it first runs the command a user
runs, ``lrcn train TASK ...`` then ``lrcn eval TASK RUN``, uninterrupted: the reference. Then, ``--kills`` times,
the same command in a fresh folder (its own feature cache too), killed (``kill -9`` of the training or evaluating
process, as the OOM killer or a pre-empted node does) at a moment drawn from ``--seed``, in turn:

- ``features``: while the feature pass writes the cache (after its k-th entry);
- ``epoch``: during an epoch (after the s-th row of the training log);
- ``checkpoint``: while a checkpoint is written (its temporary file seen on disk);
- ``eval``: during ``lrcn eval``;
- ``any``: at a time drawn over the whole command.

After each kill it opens every file of the run folder and the cache as lrcn reads them (none may be half-written),
runs the same command with ``--resume``, and compares the result with the reference: every tensor of the checkpoints
(weights and optimiser state) bit for bit, ``metrics.json``, and the training log row for row (each epoch once).
It prints one line per kill and a tally. About 1 min per kill on 2 cores (activity, caption) to 2 (describe).
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from lrcn.tools.damage import broken_files, differences, temporaries

PHASES = ("features", "epoch", "checkpoint", "eval", "any")


def _actions(out: Path, seed: int) -> Path:
    from lrcn.data.synthetic.actions import write_actions

    return write_actions(out, seed=seed, videos_per_class=6, num_frames=16, workers=1)


def _scenes(out: Path, seed: int) -> Path:
    from lrcn.data.synthetic.scenes import write_scenes

    return write_scenes(out, seed=seed, num_train=32, num_val=8, num_test=8, image_size=64, workers=1)


def _kitchen(out: Path, seed: int) -> Path:
    from lrcn.data.synthetic.kitchen import KitchenConfig, write_kitchen

    return write_kitchen(out, seed=seed, cfg=KitchenConfig(sessions=6, intervals_per_session=3, frames_per_interval=8),
                         workers=1)


@dataclass
class Task:
    name: str
    data: Callable[[Path, int], Path]
    flags: list[str]  # of `lrcn train TASK`, besides --data, --out and --cache


TASKS = {
    "activity": Task("activity", _actions, [
        "--image-size", "64", "--pca", "32", "--fc6", "32", "--hidden", "32", "--batch-size", "8", "--epochs", "5",
        "--workers", "1", "--flip", "--mirror-pair", "MoveLeft:MoveRight", "--reverse-pair", "MoveLeft:MoveRight",
        "--reverse-pair", "Grow:Shrink"]),  # every random draw of training: order, clip start, view, reversal
    "caption": Task("caption", _scenes, [
        "--image-size", "56", "--min-count", "1", "--images-per-batch", "4", "--embed-dim", "16", "--hidden", "16",
        "--image-dim", "16", "--dropout", "0.5", "--epochs", "5", "--workers", "0"]),
    "describe": Task("describe", _kitchen, [
        "--image-size", "64", "--epochs", "4", "--sr-epochs", "3", "--sr-folds", "2", "--workers", "0"]),
}


@dataclass
class Profile:
    """What the uninterrupted command did, to draw kill moments from: seconds, counts of what it wrote."""

    seconds: float = 0.0
    eval_seconds: float = 0.0
    entries: int = 0  # feature-cache entries written by training
    log_rows: int = 0
    checkpoint_writes: int = 0


@dataclass
class Watch:
    """What is on disk while a command runs: cache entries, training-log rows, checkpoints written."""

    run: Path
    cache: Path
    seen: set = field(default_factory=set)

    def entries(self) -> int:
        return sum(1 for _ in self.cache.rglob("*.npy")) if self.cache.is_dir() else 0

    def log_rows(self) -> int:
        return sum(max(0, p.read_bytes().count(b"\n") - 1) for p in self.run.rglob("metrics.csv"))

    def checkpoint_dirs(self) -> list[Path]:
        return [self.run / "checkpoints", *self.run.glob("sr/checkpoints"), *self.run.glob("sr/fold*/checkpoints")]

    def checkpoint_writes(self) -> int:
        """Checkpoints written whole so far (each version of each file, by its modification time)."""
        for p in (p for d in self.checkpoint_dirs() for p in d.glob("*.ckpt")):
            try:
                self.seen.add((p, p.stat().st_mtime_ns))
            except FileNotFoundError:  # replaced or cleared between the listing and the look
                pass
        return len(self.seen)

    def writing_checkpoint(self) -> bool:
        return any(p.name.endswith(".tmp") for d in self.checkpoint_dirs() if d.is_dir() for p in d.iterdir())


def command(task: Task, data: Path, run: Path, cache: Path, resume: bool) -> list[list[str]]:
    train = ["train", task.name, "--data", str(data), "--out", str(run), "--cache", str(cache), *task.flags]
    return [train + ["--resume"] * resume, ["eval", task.name, str(run), "--cache", str(cache)]]


def lrcn(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "lrcn", *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)


def run_command(steps: list[list[str]], watch: Watch, trigger=None, poll: float = 0.005):
    """Run the steps in turn; poll ``trigger(watch, step, seconds, step_seconds)`` and SIGKILL the running step when it
    fires. Returns (which step was killed or None, seconds at the kill or at the end, the failure's stderr or None,
    the seconds each step took)."""
    t0, took = time.monotonic(), []
    for i, args in enumerate(steps):
        child, s0 = lrcn(args), time.monotonic()
        while child.poll() is None:
            if trigger is not None and trigger(watch, i, time.monotonic() - t0, time.monotonic() - s0):
                os.kill(child.pid, signal.SIGKILL)
                child.wait()
                child.stderr.close()
                return i, time.monotonic() - t0, None, took
            time.sleep(poll)
        took.append(time.monotonic() - s0)
        err = child.stderr.read()
        child.stderr.close()
        if child.returncode != 0:
            return None, time.monotonic() - t0, f"lrcn {' '.join(args[:2])} exited {child.returncode}: {err[-800:]}", took
    return None, time.monotonic() - t0, None, took


def profile(task: Task, data: Path, root: Path) -> Profile:
    """Run the reference command into ``root`` (run/, cache/), watching what it writes."""
    watch = Watch(root / "run", root / "cache")
    counts = {"entries": 0}

    def observe(w: Watch, step, seconds, step_seconds):
        if step == 0:
            counts["entries"] = w.entries()
        if step == 0:
            w.checkpoint_writes()
        return False

    _, seconds, error, took = run_command(command(task, data, watch.run, watch.cache, False), watch, observe, 0.002)
    if error:
        raise RuntimeError(f"the uninterrupted run failed: {error}")
    return Profile(seconds, took[1], counts["entries"], watch.log_rows(), len(watch.seen))


def trigger_for(phase: str, rng: random.Random, p: Profile):
    """When to kill, for ``phase``, drawn from ``rng``: a function of what is on disk and the time."""
    if phase == "features":
        k = rng.randint(1, max(1, p.entries - 1))
        return lambda w, step, t, ts: step == 0 and w.entries() >= k
    if phase == "epoch":
        r = rng.randint(1, max(1, p.log_rows - 1))
        return lambda w, step, t, ts: step == 0 and w.log_rows() >= r
    if phase == "checkpoint":  # mid-write of the n-th checkpoint (or a later one, if its write was too quick to see)
        n = rng.randint(1, max(1, p.checkpoint_writes))
        return lambda w, step, t, ts: step == 0 and w.writing_checkpoint() and w.checkpoint_writes() >= n - 1
    if phase == "eval":
        at = rng.uniform(0, p.eval_seconds)
        return lambda w, step, t, ts: step == 1 and ts >= at
    at = rng.uniform(0, p.seconds)
    return lambda w, step, t, ts: t >= at


@dataclass
class Kill:
    number: int
    phase: str
    step: str  # "train", "eval", or "none" (the command ended before the moment came)
    seconds: float
    left: int  # temporary files the kill left
    broken: list[str]  # files found half-written after the kill
    error: str | None  # the resumed command's failure
    diffs: list[str]  # how the resumed run differs from the reference

    @property
    def same(self) -> bool:
        return self.error is None and not self.diffs and not self.broken

    def line(self) -> str:
        verdict = "same as uninterrupted" if self.same else "; ".join(
            ([self.error] if self.error else []) + self.broken[:2] + self.diffs[:3])
        where = f"killed {self.step} at {self.seconds:.1f} s" if self.step != "none" else "ended before the kill"
        return f"kill {self.number:2d} [{self.phase}] {where}, {self.left} temporary file(s) left: {verdict}"


def trial(task: Task, data: Path, root: Path, number: int, phase: str, rng: random.Random, p: Profile,
          ref_run: Path) -> Kill:
    shutil.rmtree(root, ignore_errors=True)
    watch = Watch(root / "run", root / "cache")
    step, seconds, error, _ = run_command(command(task, data, watch.run, watch.cache, False), watch,
                                          trigger_for(phase, rng, p), 0.001 if phase == "checkpoint" else 0.005)
    if error:
        return Kill(number, phase, "none", seconds, 0, [], error, [])
    left = len(temporaries(watch.run, watch.cache))
    broken = broken_files(watch.run, watch.cache)
    _, _, error, _ = run_command(command(task, data, watch.run, watch.cache, True), watch)
    diffs = [] if error else differences(ref_run, watch.run)
    diffs += [f"{t}: left after the resume" for t in temporaries(watch.run)]
    return Kill(number, phase, ("train", "eval")[step] if step is not None else "none", seconds, left, broken, error,
                diffs)


def run(task_name: str, kills: int = 10, seed: int = 0, work: Path | None = None, log=print) -> list[Kill]:
    """Kill ``task_name``'s command ``kills`` times (phases in turn, moments from ``seed``); one Kill per try."""
    task = TASKS[task_name]
    work = Path(work or Path.cwd() / "killtest") / task_name
    work.mkdir(parents=True, exist_ok=True)
    data = work / "data"
    if not data.is_dir():
        task.data(data, seed)
    t0 = time.monotonic()
    shutil.rmtree(work / "ref", ignore_errors=True)
    p = profile(task, data, work / "ref")
    log(f"{task_name}: uninterrupted run {p.seconds:.0f} s (eval {p.eval_seconds:.0f} s): {p.entries} cache entries, "
        f"{p.log_rows} log rows, {p.checkpoint_writes} checkpoint writes seen")
    rng, results = random.Random(seed), []
    for i in range(kills):
        result = trial(task, data, work / f"kill{i:02d}", i, PHASES[i % len(PHASES)], rng, p, work / "ref" / "run")
        log(result.line())
        results.append(result)
    landed = [k for k in results if k.step != "none"]
    log(f"{task_name}: {len(results)} kills tried, {len(landed)} landed, "
        f"{sum(k.error is None for k in results)} resumed, {sum(k.same for k in results)} resumed to the same "
        f"weights, metrics and log bit for bit, files intact after every kill: {not any(k.broken for k in results)}; "
        f"{time.monotonic() - t0:.0f} s")
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lrcn.tools.killtest", description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", choices=sorted(TASKS), action="append", help="Task(s) to kill (default: all).")
    parser.add_argument("--kills", type=int, default=10, help="Kills per task (default 10).")
    parser.add_argument("--seed", type=int, default=0, help="Seed of the data and of the kill moments.")
    parser.add_argument("--work", type=Path, default=Path("killtest"), help="Folder for the runs (default ./killtest).")
    parser.add_argument("--demo", action="store_true", help="Kill `lrcn demo --quick` instead, --kills times in one "
                        "folder, restarting it each time (about 3 demo lengths).")
    args = parser.parse_args(argv)
    if args.demo:
        from lrcn.tools.demokill import run_demo_kills

        return 0 if run_demo_kills(args.kills, args.seed, args.work).same else 1
    results = [k for t in args.task or sorted(TASKS) for k in run(t, args.kills, args.seed, args.work)]
    return 0 if all(k.same for k in results) else 1


if __name__ == "__main__":
    sys.exit(main())
