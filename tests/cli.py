"""The real command line, run as a user runs it: ``python -m lrcn ...`` in a subprocess."""
import os
import shutil
import subprocess
import sys

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


def lrcn(*args, env=None, check=True, as_non_root=False) -> subprocess.CompletedProcess:
    """``lrcn ARGS``; with ``check`` a non-zero exit fails the test and shows the end of stderr."""
    prefix = _AS_NON_ROOT if as_non_root and CAN_LOCK_FILES else []  # else the caller's fallback (a readable file)
    out = subprocess.run([*prefix, sys.executable, "-m", "lrcn", *map(str, args)], capture_output=True, text=True,
                         env=env)
    if check and out.returncode != 0:
        raise AssertionError(f"lrcn {' '.join(map(str, args))} exited {out.returncode}:\n{out.stderr[-3000:]}")
    return out
