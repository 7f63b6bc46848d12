"""``lrcn serve`` as a user starts it: the page, offline docs and the API on 127.0.0.1, Ctrl-C to stop; bad runs and
flags are one line; the other commands never import the server's libraries; the demo prints its serve command."""
import re
import subprocess
import sys

import httpx
import pytest

from cli import lrcn
from conftest import free_port, lrcn_serve
from lrcn.demo import serve_command


@pytest.mark.slow
def test_serve_gives_the_page_the_offline_docs_and_the_api_then_stops_on_ctrl_c(runs):
    with lrcn_serve([r for r, _ in runs.values()], "--workers", 2, "--max-upload-mb", 8) as (url, server, out):
        health = httpx.get(url + "/healthz").json()
        assert health["models"] == ["activity-tiny", "caption-tiny", "describe-tiny"] and health["work"]["workers"] == 2
        page = httpx.get(url + "/").text
        assert '<script src="/assets/app.js">' in page and "/assets/style.css" in page
        docs = httpx.get(url + "/docs").text
        assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", docs)
        assert assets and all(a.startswith("/") for a in assets), assets  # nothing from a CDN
        assert all(httpx.get(url + a).status_code == 200 for a in [*assets, "/assets/app.js", "/assets/style.css"])
        paths = httpx.get(url + "/openapi.json").json()["paths"]
        assert {"/v1/models", "/v1/classify", "/v1/caption", "/v1/describe", "/v1/retrieve", "/healthz"} <= set(paths)
    assert server.returncode == 0 and "Traceback" not in out["stderr"]
    assert f"the page: {url}/" in out["stderr"] and "model caption-tiny: caption" in out["stderr"]


def test_a_bad_run_or_flag_is_one_line(tmp_path):
    out = lrcn("serve", tmp_path / "nothing", "--port", free_port(), check=False)
    assert out.returncode == 1 and out.stderr.strip().startswith(f"error: {tmp_path / 'nothing'}")
    assert len(out.stderr.strip().splitlines()) == 1
    out = lrcn("serve", tmp_path, "--workers", "0", check=False)
    assert out.returncode == 1 and out.stderr.strip() == "error: --workers 0: must be between 1 and 64"


def test_the_other_commands_start_without_the_servers_libraries():
    probe = ("import importlib, sys\nfrom lrcn.cli import COMMAND_MODULES\n"
             "for name in COMMAND_MODULES: importlib.import_module(f'lrcn.cli.{name}')\n"
             "print(*(m for m in ('fastapi', 'starlette', 'uvicorn', 'pydantic', 'lrcn.serve.app') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_the_demo_prints_the_command_that_serves_its_runs(tmp_path):
    assert serve_command(tmp_path) is None  # nothing trained yet
    for name in ("activity-rgb-lrcn", "caption-lrcn2f", "describe-crf-prob", "activity-rgb-single-frame"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "model.json").write_text("{}")
    (tmp_path / "activity-flow-lrcn").mkdir()  # started, never trained
    assert serve_command(tmp_path) == (f"lrcn serve {tmp_path}/activity-rgb-lrcn {tmp_path}/caption-lrcn2f "
                                       f"{tmp_path}/describe-crf-prob")
