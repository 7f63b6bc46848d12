"""Atomic writes: a file is either the old version or the complete new one, never half-written.

A write that fails for want of space or permission (ENOSPC, EDQUOT, EROFS, EACCES) is one :class:`WriteError` line
naming the file and what was short, and leaves no temporary file behind. A writer killed mid-write (SIGKILL, a
power cut) leaves its temporary file, never a half-written target; :func:`sweep_temporaries` clears those of
writers that are gone.
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import socket
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from lrcn.errors import LrcnError, WriteError

WRITE_ERRNOS = {errno.ENOSPC: "no space left on device", errno.EDQUOT: "disk quota exceeded",
                errno.EROFS: "read-only file system", errno.EACCES: "permission denied",
                errno.EPERM: "operation not permitted", errno.EFBIG: "file too large"}
# A temporary file names the machine and process writing it: ".<name>.~<host>~<pid>~<random>.tmp".
_TEMPORARY = re.compile(r"^\..*\.~(?P<host>[^~/]*)~(?P<pid>\d+)~[^~/]*\.tmp$")
# Writers that report a full disk without an errno: numpy's tofile, torch's C++ writer, safetensors (Rust).
_SHORT_WRITE = re.compile(r"requested and \d+ written|unexpected pos|file write failed")
_RUST_OS_ERROR = re.compile(r"os error (\d+)")


@contextmanager
def atomic_path(path: str | os.PathLike, needed: int | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds.

    A write that fails for want of space or permission raises :class:`WriteError` (``needed``: the bytes the file
    will take, where known, for its message); the temporary file is removed whatever happens.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.~{socket.gethostname()}~{os.getpid()}~",
                                   suffix=".tmp")
        os.close(fd)
    except OSError as e:
        raise write_failure(path, e, needed) or e from None
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except Exception as e:
        Path(tmp).unlink(missing_ok=True)  # first, so the message counts the space it took as free
        failure = write_failure(path, e, needed)
        if failure is None:
            raise
        raise failure from None
    finally:
        Path(tmp).unlink(missing_ok=True)


def write_failure(path: str | os.PathLike, exc: BaseException, needed: int | None = None) -> WriteError | None:
    """``exc``, raised while writing ``path``, as one line naming the file and what was short (free bytes against
    ``needed``, where known); None if ``exc`` is not a failed write (a bug must keep its traceback)."""
    path = Path(path)
    code = _errno_of(exc, path, needed)
    if code is None:
        return None
    mount = mount_point(path)
    if code in (errno.ENOSPC, errno.EDQUOT):
        st = os.statvfs(mount)
        need = f", {human(needed)} needed" if needed else ""
        return WriteError(f"{path}: {WRITE_ERRNOS[code]} ({human(st.f_bavail * st.f_frsize)} free of "
                          f"{human(st.f_blocks * st.f_frsize)} on {mount}{need}); free some space or write elsewhere")
    if code == errno.EROFS:
        return WriteError(f"{path}: cannot write: {mount} is a read-only file system; write elsewhere")
    if code == errno.EFBIG:
        return WriteError(f"{path}: cannot write: file too large for the file system on {mount}")
    return WriteError(f"{path}: cannot write: {WRITE_ERRNOS[code]} in {_existing(path.parent)}")


def _errno_of(exc: BaseException, path: Path, needed: int | None) -> int | None:
    if isinstance(exc, OSError) and exc.errno in WRITE_ERRNOS:
        return exc.errno
    text = str(exc)
    rust = _RUST_OS_ERROR.search(text)
    if rust and int(rust.group(1)) in WRITE_ERRNOS:
        return int(rust.group(1))
    if _SHORT_WRITE.search(text):  # no errno: a short write is a full disk when the disk is (nearly) full
        st = os.statvfs(mount_point(path))
        if st.f_bavail * st.f_frsize < max(needed or 0, 1 << 20):
            return errno.ENOSPC
    return None


def mount_point(path: str | os.PathLike) -> Path:
    """The mount point of the file system holding ``path`` (or the nearest folder above it that exists)."""
    path = _existing(Path(path).absolute())
    dev = path.stat().st_dev
    while path.parent != path and path.parent.stat().st_dev == dev:
        path = path.parent
    return path


def _existing(path: Path) -> Path:
    while not path.exists() and path.parent != path:
        path = path.parent
    return path


def human(n: int | None) -> str:
    """A byte count for people: 512 bytes, 3.9 MB, 1.2 GB (powers of 1000, as df -H)."""
    n = n or 0
    if n < 1000:
        return f"{n} bytes"
    for unit in ("KB", "MB", "GB", "TB"):
        n /= 1000
        if n < 1000 or unit == "TB":
            return f"{n:.1f} {unit}"


def sweep_temporaries(folder: str | os.PathLike, recursive: bool = False) -> list[Path]:
    """Remove the temporary files left in ``folder`` by writers on this machine that are gone (killed mid-write);
    a living process's are left alone. Returns the files removed."""
    folder, host, removed = Path(folder), socket.gethostname(), []
    if not folder.is_dir():
        return removed
    for p in folder.rglob(".*.tmp") if recursive else folder.glob(".*.tmp"):
        m = _TEMPORARY.match(p.name)
        if m and m["host"] == host and not _alive(int(m["pid"])):
            p.unlink(missing_ok=True)
            removed.append(p)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json(path: str | os.PathLike, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def read_text(path: str | os.PathLike) -> str:
    """The UTF-8 text of a file a user gave (an index, a config), or LrcnError naming the file and the problem.

    A leading byte-order mark (Windows Notepad writes one) is dropped: it is not part of the text.
    """
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise LrcnError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise LrcnError(f"{path}: is a directory, not a file") from None
    except OSError as e:
        raise LrcnError(f"{path}: cannot read ({e.strerror or e})") from None
    except UnicodeDecodeError as e:
        raise LrcnError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None


def read_json(path: str | os.PathLike) -> Any:
    return json.loads(Path(path).read_text())


def fingerprint(path: str | os.PathLike) -> str:
    """A short key for a file's contents as of now: its absolute path, size and modification time hashed (an
    edited file gets a new key; cheap, as it never reads the file)."""
    path = Path(path).resolve()
    st = path.stat()
    return hashlib.sha1(f"{path}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()[:20]
