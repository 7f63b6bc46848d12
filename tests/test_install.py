"""How lrcn installs: pyproject.toml declares ranges (no exact pin), constraints.txt (the lock) pins every package
``make demo`` / ``make test`` install, and the wheel goes into an environment that already holds other versions
within the ranges and keeps them (slow: a fresh venv with torch from this machine's disk)."""
import email
import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from cli import lrcn_serve

ROOT = Path(__file__).parent.parent
# The floors the slow test installs exactly, the wheel then beside them: every other floor is the locked version.
FLOORS = {"numpy": "2.2.0", "pillow": "11.0.0", "lightning": "2.6.0", "opencv-contrib-python-headless": "4.11.0.86",
          "typer": "0.16.0", "rich": "13.9.0", "pyyaml": "6.0.1", "matplotlib": "3.9.0", "tensorboard": "2.18.0",
          "safetensors": "0.5.0", "onnxruntime": "1.21.0", "fastapi": "0.128.0", "uvicorn": "0.34.0",
          "python-multipart": "0.0.20", "websockets": "14.0"}
TORCH = {"torch": "2.14.1", "torchvision": "0.29.1"}  # the builds on this machine's disk (others are gigabytes away)


def declared(extras=("serve",)) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(r) for r in project["dependencies"] + [r for e in extras
                                                               for r in project["optional-dependencies"][e]]]


def lock() -> dict[str, str]:
    rows = (line.split("#")[0].strip() for line in (ROOT / "constraints.txt").read_text().splitlines())
    return {canonicalize_name(r.split("==")[0]): r.split("==")[1] for r in rows if r}


def floor(req: Requirement) -> Version:
    (spec,) = [s for s in req.specifier if s.operator == ">="]
    return Version(spec.version)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel of this checkout, built from a copy (setuptools writes build/ beside the sources)."""
    out = tmp_path_factory.mktemp("wheel")
    src = shutil.copytree(ROOT, out / "src", ignore=shutil.ignore_patterns(".git", ".venv", "runs", "build", "*.egg-info",
                                                                          "__pycache__", ".cache"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", str(src),
                    "-w", str(out)], check=True, capture_output=True)
    (path,) = out.glob("lrcn-*.whl")
    return path


def test_the_wheel_declares_ranges_and_no_exact_pin(wheel):
    with zipfile.ZipFile(wheel) as z:
        meta = email.message_from_bytes(z.read(next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))))
    requires = [Requirement(r) for r in meta.get_all("Requires-Dist")]
    assert requires and not [str(r) for r in requires if any(s.operator in ("==", "===") for s in r.specifier)]
    assert all(floor(r) for r in requires)  # each has a floor
    assert {"serve", "test"} <= set(meta.get_all("Provides-Extra"))
    serve = {r.name for r in requires if r.marker and r.marker.evaluate({"extra": "serve"})
             and not r.marker.evaluate({"extra": ""})}
    assert {"fastapi", "uvicorn"} <= serve  # the server's stack only with the extra


def test_every_floor_is_the_locked_version_or_one_the_slow_test_installs():
    locked = lock()
    for req in declared(("serve", "test")):
        name = canonicalize_name(req.name)
        tested = FLOORS.get(name) or TORCH.get(name)
        assert floor(req) == Version(locked[name]) or tested and Version(tested) == floor(req) or name in TORCH, req
        assert req.specifier.contains(locked[name]), f"the lock's {name} {locked[name]} is outside {req}"


def closure(reqs: list[Requirement], extras: tuple[str, ...] = ()) -> dict[str, str]:
    """{name: installed version} of ``reqs`` and everything they require here, markers evaluated."""
    seen: dict[str, str] = {}
    todo = [(r, extras) for r in reqs]
    while todo:
        req, ex = todo.pop()
        if req.marker and not any(req.marker.evaluate({"extra": e}) for e in (*ex, "")):
            continue
        name = canonicalize_name(req.name)
        if name in seen:
            continue
        seen[name] = metadata.version(name)
        todo += [(Requirement(r), tuple(req.extras)) for r in metadata.requires(name) or []]
    return seen


def test_the_lock_holds_what_the_tests_run_with():
    locked, running = lock(), closure(declared(("serve", "test")))
    wrong = {n: (v, locked.get(n)) for n, v in running.items() if locked.get(n) != v}
    assert not wrong, f"installed vs locked (make test installs the lock): {wrong}"


@pytest.mark.slow
def test_the_wheel_installs_beside_other_versions_and_keeps_them(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    bin_ = venv / "bin"

    def pip(*args):
        subprocess.run([bin_ / "pip", "install", "--quiet", *args], check=True, env=env)

    def versions() -> dict[str, str]:
        out = subprocess.run([bin_ / "pip", "list", "--format", "json"], capture_output=True, text=True, check=True)
        return {canonicalize_name(p["name"]): p["version"] for p in json.loads(out.stdout)}

    pip(*(f"{n}=={v}" for n, v in TORCH.items()))
    pip(*(f"{n}=={v}" for n, v in FLOORS.items()))
    before = versions()
    pip(f"{wheel}[serve]")
    after = versions()
    kept = {**TORCH, **FLOORS}
    assert {n: after[n] for n in kept} == {n: before[n] for n in kept}
    assert after["lrcn"] == "0.2.0"

    def run(*args) -> str:
        return subprocess.run([bin_ / "lrcn", *map(str, args)], capture_output=True, text=True, check=True,
                              env=env).stdout

    data = tmp_path / "actions"
    run("synth", "actions", "--out", data, "--videos-per-class", 2, "--frames", 16)
    tiny = ["--image-size", 64, "--pca", 0, "--fc6", 16, "--hidden", 8, "--batch-size", 4, "--workers", 0,
            "--epochs", 1, "--cache", tmp_path / "cache"]
    run("train", "activity", "--data", data, "--out", tmp_path / "run", *tiny)
    run("eval", "activity", tmp_path / "run", "--cache", tmp_path / "cache")  # matplotlib's plots too
    video = next(data.glob("*/*.avi"))
    assert "label" in json.loads(run("classify", tmp_path / "run", video, "--json"))
    run("export", tmp_path / "run", tmp_path / "export")  # safetensors
    with lrcn_serve([tmp_path / "export"], command=[bin_ / "lrcn"], env=env) as (url, _, _):
        import urllib.request

        assert "/v1/classify" in json.loads(urllib.request.urlopen(url + "/openapi.json").read())["paths"]
