"""The real command line, run as a user runs it: ``python -m lrcn ...`` in a subprocess."""
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

# Root reads any file; without the two capabilities that let it (util-linux's setpriv), it cannot read mode 000.
_AS_NON_ROOT = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"] if os.geteuid() == 0 else []


def _can_lock_files() -> bool:
    """Whether a mode-000 file is unreadable to ``lrcn(..., as_non_root=True)`` (a container may forbid setpriv)."""
    if not _AS_NON_ROOT:
        return True
    if shutil.which("setpriv") is None:
        return False
    return subprocess.run([*_AS_NON_ROOT, "true"], capture_output=True).returncode == 0


CAN_LOCK_FILES = _can_lock_files()


def locked_copy(src, dst):
    """A copy of ``src`` at ``dst`` that nobody may read (mode 000): run ``lrcn(..., as_non_root=True)`` on it."""
    dst.write_bytes(src.read_bytes())
    dst.chmod(0)
    return dst


# ``python -c`` with the packages of argv[1] made missing (as if not installed: importing one raises
# ModuleNotFoundError, ``find_spec`` gives None), then the CLI on the rest of argv.
_WITHOUT = ("import sys\nfor name in sys.argv.pop(1).split(','): sys.modules[name] = None\n"
            "sys.argv[0] = 'lrcn'\nfrom lrcn.cli import main\nmain()")


def lrcn(*args, env=None, check=True, as_non_root=False, without=()) -> subprocess.CompletedProcess:
    """``lrcn ARGS``; with ``check`` a non-zero exit fails the test and shows the end of stderr. ``without``: import
    names of packages to run it without (in this process; worker processes it starts still see them)."""
    prefix = _AS_NON_ROOT if as_non_root and CAN_LOCK_FILES else []  # else the caller's fallback (a readable file)
    command = ["-c", _WITHOUT, ",".join(without)] if without else ["-m", "lrcn"]
    out = subprocess.run([*prefix, sys.executable, *command, *map(str, args)], capture_output=True, text=True,
                         env=env)
    if check and out.returncode != 0:
        raise AssertionError(f"lrcn {' '.join(map(str, args))} exited {out.returncode}:\n{out.stderr[-3000:]}")
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def lrcn_serve(runs, *flags, command=(sys.executable, "-m", "lrcn"), env=None):
    """``lrcn serve RUNS... FLAGS`` in its own process (``command``: how lrcn is started, e.g. another venv's
    ``bin/lrcn``), as a user starts it, until it answers /healthz; Ctrl-C at the end. Yields (base URL, the process,
    a dict that receives its ``stderr`` once it has stopped)."""
    port = free_port()
    url, out = f"http://127.0.0.1:{port}", {}
    server = subprocess.Popen([*command, "serve", *map(str, runs), "--port", str(port), *map(str, flags)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        deadline = time.monotonic() + 180
        while True:
            assert server.poll() is None and time.monotonic() < deadline, "lrcn serve did not start"
            try:
                urllib.request.urlopen(url + "/healthz", timeout=2).close()
                break
            except urllib.error.HTTPError:  # it answered
                break
            except OSError:
                time.sleep(0.3)
        yield url, server, out
    finally:
        server.send_signal(signal.SIGINT)
        out["stderr"] = server.communicate(timeout=60)[1]
