"""The CLI ends without Python's teardown of its modules (lrcn.cli.exit_now), yet does what an exit must: the exit
code, flushed output, the atexit handlers, and the threads still running joined."""
import subprocess
import sys

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
