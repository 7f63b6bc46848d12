"""The CLI ends without Python's teardown of its modules (lrcn.cli.exit_now), yet does what an exit must: the exit
code, flushed output, the atexit handlers, and the threads still running joined."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = """
import atexit, sys, threading, time
from pathlib import Path
out = Path(sys.argv[1])
atexit.register(lambda: (out / "atexit").write_text("ran"))
import importlib, lrcn.cli
for name in lrcn.cli.COMMAND_MODULES:  # imported before the thread starts: the command itself is quicker than it
    importlib.import_module(f"lrcn.cli.{name}")
def late():
    time.sleep(1)
    (out / "thread").write_text("joined")
threading.Thread(target=late).start()
sys.argv = ["lrcn", *sys.argv[2:]]
print("before", end="")  # buffered, no newline: lost unless flushed
lrcn.cli.main()
"""


@pytest.mark.parametrize("args, code", [(["--help"], 0), (["classify", "no-such-run", "v.avi"], 1),
                                        (["classify"], 2)])
def test_the_exit_keeps_its_code_output_handlers_and_threads(tmp_path, args, code):
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path), *args], capture_output=True, text=True)
    assert out.returncode == code, out.stderr
    assert out.stdout.startswith("before")
    assert (tmp_path / "atexit").read_text() == "ran"
    assert (tmp_path / "thread").read_text() == "joined"
    if code == 1:
        assert out.stderr.strip().splitlines() == ["error: no-such-run: not a run folder (no config.yaml)"]


BUG = """
import sys
import lrcn.data.synthetic.actions
def broken(*args, **kwargs):  # a library refusing this hardware, as nn.LSTM's bf16 autocast did on AVX2 CPUs
    raise RuntimeError("could not create a primitive descriptor for the LSTM forward propagation primitive\\nmore")
lrcn.data.synthetic.actions.write_actions = broken
import lrcn.cli
sys.argv = ["lrcn", "synth", "actions", "--out", sys.argv[1]]
lrcn.cli.main()
"""


def test_a_bug_is_one_line_naming_a_report_with_the_traceback_and_the_doctor_report(tmp_path):
    env = {**os.environ, "LRCN_CACHE": str(tmp_path / "cache")}
    out = subprocess.run([sys.executable, "-c", BUG, str(tmp_path / "data")], capture_output=True, text=True, env=env)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    (line,) = out.stderr.strip().splitlines()
    assert line.startswith("error: internal error (RuntimeError: could not create a primitive descriptor for the "
                           "LSTM forward propagation primitive more): a bug in lrcn, please report it; the traceback")
    report = Path(line.rsplit(" are in ", 1)[1])
    assert report.parent == tmp_path / "cache" / "crashes"
    text = report.read_text()
    assert "Traceback (most recent call last)" in text and "in broken" in text
    facts = json.loads(text.split("lrcn doctor --json:\n", 1)[1])
    assert facts["machine"]["cpu"]["isa"] and facts["versions"]["torch"] and "cpu" in facts["auto"]
