"""``python -m lrcn.tools.killtest --demo``: ``lrcn demo`` killed with SIGKILL at seeded random moments and started
again, in one folder, until it finishes; its results and report must be those of an uninterrupted demo (timings
aside), and nothing in the folder half-written after any kill."""
from __future__ import annotations

import json
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from lrcn.tools.damage import broken_files

# What changes from one demo to the next by design: times and the measured optical-flow speed.
_TIMED = [(re.compile(r"\d+(\.\d+)? ?s\b"), "<t> s"), (re.compile(r"\d+ frame pairs/s"), "<n> frame pairs/s"),
          (re.compile(r"about \d+(\.\d+)? h per process"), "about <n> h per process"),
          (re.compile(r"(Time per generator[^:]*:)[^\n]*"), r"\1 <t>")]  # its seconds carry no "s"


def comparable_report(text: str) -> str:
    """A demo report without its timings (the Timing table, seconds in sentences, the measured flow speed)."""
    text = text.split("\n## Timing")[0]
    for pattern, placeholder in _TIMED:
        text = pattern.sub(placeholder, text)
    return text


def comparable_results(path: Path) -> dict:
    results = json.loads(path.read_text())
    results.pop("timing", None)
    return results


@dataclass
class DemoKills:
    kills: list[float]  # seconds into each session when it was killed
    broken: list[str]  # files found half-written after a kill
    same_results: bool
    same_report: bool
    seconds: float

    @property
    def same(self) -> bool:
        return self.same_results and self.same_report and not self.broken


def demo_command(out: Path, quick: bool) -> list[str]:
    return [sys.executable, "-m", "lrcn", "demo", "--out", str(out)] + ["--quick"] * quick


def run_demo_kills(kills: int = 3, seed: int = 0, work: Path = Path("killtest"), quick: bool = True,
                   log=print) -> DemoKills:
    """An uninterrupted demo, then one in another folder killed ``kills`` times (each session at a moment drawn from
    ``seed`` over the uninterrupted demo's length) and started again until it finishes; the two compared."""
    work = Path(work) / "demo"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    t0 = time.monotonic()
    subprocess.run(demo_command(work / "ref", quick), check=True, capture_output=True)
    length = time.monotonic() - t0
    log(f"demo: uninterrupted {length:.0f} s")
    rng, at, broken = random.Random(seed), [], []
    out = work / "killed"
    for i in range(kills):
        moment = rng.uniform(0.05, 0.95) * length
        child, s0 = subprocess.Popen(demo_command(out, quick), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL), time.monotonic()
        while child.poll() is None and time.monotonic() - s0 < moment:
            time.sleep(0.05)
        if child.poll() is not None:
            log(f"demo kill {i}: the demo finished before {moment:.0f} s")
            break
        child.send_signal(signal.SIGKILL)
        child.wait()
        at.append(moment)
        found = broken_files(out)
        broken += found
        log(f"demo kill {i}: killed at {moment:.0f} s, {len(found)} half-written file(s)")
    subprocess.run(demo_command(out, quick), check=True, capture_output=True)
    result = DemoKills(at, broken, comparable_results(work / "ref" / "results.json") ==
                       comparable_results(out / "results.json"),
                       comparable_report((work / "ref" / "report.md").read_text().replace(str(work / "ref"), "OUT")) ==
                       comparable_report((out / "report.md").read_text().replace(str(out), "OUT")),
                       time.monotonic() - t0)
    log(f"demo: {len(at)} kills, then finished; results.json {'the same' if result.same_results else 'DIFFERENT'}, "
        f"report.md {'the same' if result.same_report else 'DIFFERENT'} (timings aside), "
        f"{len(broken)} half-written files; {result.seconds:.0f} s")
    return result
