"""The OpenAPI schema fuzzed with schemathesis (slow): whatever it sends, the server answers 2xx or 4xx with one
line, never 5xx. Run: python -m pytest -m slow tests/serve/test_fuzz_api.py"""
import pytest
import schemathesis
from hypothesis import HealthCheck, settings

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def api_schema(server):
    return schemathesis.openapi.from_url(server + "/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_fuzzed_requests_never_get_a_server_error(case):
    response = case.call(timeout=120)
    assert response.status_code < 500, f"{case.method} {case.path}: {response.status_code} {response.text[:300]}"
    if response.status_code >= 400:
        body = response.json()
        assert set(body) == {"error"} and "\n" not in body["error"] and "Traceback" not in body["error"]
