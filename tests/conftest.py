import os

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "2")
if "PYTEST_XDIST_WORKER_COUNT" in os.environ:  # make test runs pytest-xdist workers: each takes its share of the
    share = (os.cpu_count() or 1) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"])  # cores, for its own torch
    os.environ["OMP_NUM_THREADS"] = str(max(1, min(2, share)))  # and the CLI processes it starts


def pytest_addoption(parser):
    parser.addoption("--device", default="auto", help="where the tests that take it train and predict: auto, cpu, "
                     "cuda (bench/gpu_check.py runs the predictor contract with --device cuda)")


@pytest.fixture(scope="session")
def device(request) -> str:
    return request.config.getoption("--device")


@pytest.fixture(scope="session")
def rng_seed():
    return 0
