import os

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "2")


def pytest_addoption(parser):
    parser.addoption("--device", default="auto", help="where the tests that take it train and predict: auto, cpu, "
                     "cuda (bench/gpu_check.py runs the predictor contract with --device cuda)")


@pytest.fixture(scope="session")
def device(request) -> str:
    return request.config.getoption("--device")


@pytest.fixture(scope="session")
def rng_seed():
    return 0
