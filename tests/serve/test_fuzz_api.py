"""The OpenAPI schema fuzzed with schemathesis (slow): whatever it sends to each operation, the server answers 2xx or
4xx with one line, never 5xx. Run: python -m pytest -m slow tests/serve/test_fuzz_api.py"""
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

pytestmark = pytest.mark.slow
EXAMPLES = 40  # per operation


def test_fuzzed_requests_never_get_a_server_error(server):
    schema = schemathesis.openapi.from_url(server + "/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 7
    seen = {}
    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def fuzz(case):
            response = case.call(timeout=120)
            seen.setdefault(operation.label, set()).add(response.status_code)
            assert response.status_code < 500, f"{operation.label}: {response.status_code} {response.text[:300]}"
            if response.status_code >= 400:
                body = response.json()
                assert set(body) == {"error"} and "\n" not in body["error"] and "Traceback" not in body["error"]

        fuzz()
    print("\n" + "\n".join(f"{label}: statuses {sorted(codes)}" for label, codes in seen.items()))
