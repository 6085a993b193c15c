"""PrometheusSource against recorded HTTP API answers: parsing, range splitting, error mapping."""

from __future__ import annotations

import logging
import math
import socket

import httpx
import numpy as np
import pytest

from foresight.adapters.prometheus import (
    MAX_POINTS_PER_SERIES,
    PrometheusSource,
    parse_result,
)
from foresight.errors import ConfigError, InputError, ServiceUnavailable
from foresight.ports import MetricsSource

# Answers as Prometheus 2.42 writes them (trimmed).
MATRIX = {
    "status": "success",
    "data": {
        "resultType": "matrix",
        "result": [
            {
                "metric": {"__name__": "http_requests_total", "job": "api", "instance": "10.0.0.1:8080"},
                "values": [
                    [1700000000, "12"],
                    [1700000015, "NaN"],
                    [1700000030, "+Inf"],
                    [1700000045, "-Inf"],
                ],
            },
            {"metric": {"job": "worker"}, "values": [[1700000030, "0.25"]]},
        ],
    },
}
BAD_PROMQL = {
    "status": "error",
    "errorType": "bad_data",
    "error": "invalid parameter \"query\": 1:5: parse error: unexpected right parenthesis ')'",
}


def source_answering(
    *answers: tuple[int, object], response_headers: dict[str, str] | None = None, **kwargs: object
) -> tuple[PrometheusSource, list[httpx.Request]]:
    """A source whose HTTP transport replays ``(status, json_body)`` answers and keeps the requests."""
    seen: list[httpx.Request] = []
    queue = list(answers)

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        status, body = queue.pop(0)
        if isinstance(body, str):
            return httpx.Response(status, text=body)
        return httpx.Response(status, json=body, headers=response_headers or {})

    return PrometheusSource("http://prom.test:9090/", transport=httpx.MockTransport(handle), **kwargs), seen


def test_range_query_reads_every_series_and_special_value():
    source, seen = source_answering((200, MATRIX))
    series = source.query_range("rate(http_requests_total[1m])", 1700000000, 1700000045, 15)

    params = seen[0].url.params
    assert seen[0].url.path == "/api/v1/query_range"
    assert dict(params) == {
        "query": "rate(http_requests_total[1m])",
        "start": "1700000000.000",
        "end": "1700000045.000",
        "step": "15.000",
    }
    api = next(s for s in series if s.labels.get("job") == "api")
    assert api.labels["__name__"] == "http_requests_total"
    assert api.timestamps.tolist() == [1700000000, 1700000015, 1700000030, 1700000045]
    assert api.values[0] == 12 and math.isnan(api.values[1])
    assert api.values[2] == math.inf and api.values[3] == -math.inf
    worker = next(s for s in series if s.labels.get("job") == "worker")
    assert worker.values.tolist() == [0.25]


def test_source_satisfies_the_metrics_source_port():
    source: MetricsSource = PrometheusSource("http://prom.test:9090")
    assert callable(source.query_range)


def test_long_range_is_split_below_the_resolution_limit_and_joined_on_one_grid():
    # A fake Prometheus that evaluates `vector(1)` on the requested grid, and refuses > 11,000 points.
    requests: list[dict[str, str]] = []

    def evaluate(request: httpx.Request) -> httpx.Response:
        p = dict(request.url.params)
        requests.append(p)
        start, end, step = float(p["start"]), float(p["end"]), float(p["step"])
        if (end - start) / step > MAX_POINTS_PER_SERIES:
            return httpx.Response(
                400, json={"status": "error", "errorType": "bad_data", "error": "exceeded maximum resolution"}
            )
        n = round((end - start) / step) + 1
        values = [[round(start + i * step, 3), "1"] for i in range(n)]
        answer = {"resultType": "matrix", "result": [{"metric": {}, "values": values}]}
        return httpx.Response(200, json={"status": "success", "data": answer})

    source = PrometheusSource("http://prom.test:9090", transport=httpx.MockTransport(evaluate))
    start, step = 1_700_000_000.0, 0.5
    end = start + 25_000 * step
    [series] = source.query_range("vector(1)", start, end, step)

    assert len(requests) == 3
    assert [float(r["start"]) for r in requests] == [start, start + 11_000 * step, start + 22_000 * step]
    assert float(requests[0]["end"]) == start + 10_999 * step and float(requests[-1]["end"]) == end
    assert len(series) == 25_001
    assert np.allclose(np.diff(series.timestamps), step)
    assert series.timestamps[0] == start and series.timestamps[-1] == end


def test_series_seen_in_some_chunks_only_are_joined_per_label_set():
    def chunk(metric_points: dict[str, list[list[object]]]) -> dict[str, object]:
        result = [{"metric": {"pod": pod}, "values": pts} for pod, pts in metric_points.items()]
        return {"status": "success", "data": {"resultType": "matrix", "result": result}}

    first = chunk({"a": [[0, "1"], [1, "2"]]})
    second = chunk({"b": [[11_000, "7"]], "a": [[11_001, "3"]]})
    source, _ = source_answering((200, first), (200, second))
    series = source.query_range("up", 0, 11_001, 1)
    assert [dict(s.labels) for s in series] == [{"pod": "a"}, {"pod": "b"}]
    assert series[0].timestamps.tolist() == [0, 1, 11_001] and series[0].values.tolist() == [1, 2, 3]


def test_instant_query_reads_vectors_and_scalars():
    vector = {"resultType": "vector", "result": [{"metric": {"job": "api"}, "value": [1700000000.5, "3"]}]}
    scalar = {"resultType": "scalar", "result": [1700000000.5, "42"]}
    source, seen = source_answering(
        (200, {"status": "success", "data": vector}), (200, {"status": "success", "data": scalar})
    )
    [v] = source.query("sum by (job) (up)", 1700000000.5)
    [s] = source.query("scalar(sum(up))", 1700000000.5)
    assert seen[0].url.path == "/api/v1/query" and seen[0].url.params["time"] == "1700000000.500"
    assert dict(v.labels) == {"job": "api"} and v.values.tolist() == [3.0]
    assert dict(s.labels) == {} and s.timestamps.tolist() == [1700000000.5] and s.values.tolist() == [42.0]


def test_string_or_malformed_results_are_input_errors_naming_the_problem():
    with pytest.raises(InputError, match="'string'"):
        parse_result({"resultType": "string", "result": [1, "hello"]})
    with pytest.raises(InputError, match="matrix result is malformed"):
        parse_result({"resultType": "matrix", "result": [{"values": [[1, "2"]]}]})
    with pytest.raises(InputError, match="increase strictly"):
        parse_result({"resultType": "matrix", "result": [{"metric": {}, "values": [[2, "1"], [1, "1"]]}]})


def test_bad_promql_is_an_input_error_quoting_query_and_message():
    source, _ = source_answering((400, BAD_PROMQL))
    with pytest.raises(
        InputError, match=r"rejected the query 'sum\(up\)\)' \(bad_data\).*unexpected right parenthesis"
    ):
        source.query_range("sum(up))", 0, 60, 15)


def test_execution_errors_are_input_errors():
    answer = {"status": "error", "errorType": "execution", "error": "many-to-many matching not allowed"}
    source, _ = source_answering((422, answer))
    with pytest.raises(InputError, match="many-to-many"):
        source.query("a / b", 0)


def test_overloaded_prometheus_is_unavailable_with_its_retry_after():
    answer = {"status": "error", "errorType": "unavailable", "error": "too many queries"}
    source, _ = source_answering((503, answer), response_headers={"Retry-After": "30"})
    with pytest.raises(
        ServiceUnavailable, match=r"http://prom.test:9090/api/v1/query_range answered HTTP 503"
    ) as info:
        source.query_range("up", 0, 60, 15)
    assert info.value.retry_after_s == 30.0


def test_query_timeout_inside_prometheus_is_unavailable():
    answer = {"status": "error", "errorType": "timeout", "error": "query timed out in expression evaluation"}
    source, _ = source_answering((503, answer))
    with pytest.raises(ServiceUnavailable, match="timeout: query timed out"):
        source.query("up", 0)


@pytest.mark.parametrize(
    ("status", "body", "match"),
    [
        (401, "Unauthorized", "refused the request \\(HTTP 401\\): check the bearer token"),
        (
            404,
            "<html>404 page not found</html>",
            "answered HTTP 404 without a Prometheus API result: check base_url",
        ),
        (200, {"hello": "world"}, "answered HTTP 200 without a Prometheus API result"),
    ],
)
def test_answers_that_are_not_the_prometheus_api_are_config_errors(status, body, match):
    source, _ = source_answering((status, body))
    with pytest.raises(ConfigError, match=match):
        source.query("up", 0)


def test_closed_port_is_unavailable_naming_the_url():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    with (
        PrometheusSource(url, timeout_s=2) as source,
        pytest.raises(ServiceUnavailable, match=f"{url}/api/v1/query_range cannot be reached"),
    ):
        source.query_range("up", 0, 60, 15)


def test_silent_server_is_unavailable_after_the_timeout():
    with socket.socket() as listener:  # accepts connections (backlog) but never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        with (
            PrometheusSource(url, timeout_s=0.2) as source,
            pytest.raises(ServiceUnavailable, match="within 0.2 s"),
        ):
            source.query("up", 0)


def test_credentials_and_headers_go_with_every_request():
    source, seen = source_answering((200, MATRIX), bearer_token="s3cret", headers={"X-Scope-OrgID": "team-a"})
    source.query_range("up", 1700000000, 1700000045, 15)
    assert seen[0].headers["Authorization"] == "Bearer s3cret"
    assert seen[0].headers["X-Scope-OrgID"] == "team-a"


def test_prometheus_warnings_are_logged(caplog):
    answer = dict(MATRIX, warnings=["PromQL info: metric might not be a counter"])
    source, _ = source_answering((200, answer))
    with caplog.at_level(logging.WARNING, logger="foresight.adapters.prometheus"):
        source.query_range("rate(x[1m])", 1700000000, 1700000045, 15)
    assert "might not be a counter" in caplog.text


@pytest.mark.parametrize(
    ("start", "end", "step", "match"),
    [(0, 60, 0, "at least 0.001 s"), (60, 0, 15, "before start"), (0, math.nan, 15, "finite")],
)
def test_impossible_ranges_are_refused_before_any_request(start, end, step, match):
    source, seen = source_answering()
    with pytest.raises(InputError, match=match):
        source.query_range("up", start, end, step)
    assert seen == []


@pytest.mark.parametrize(("url", "timeout_s"), [("prom:9090", 10), ("http://prom:9090", 0)])
def test_impossible_settings_are_config_errors(url, timeout_s):
    with pytest.raises(ConfigError):
        PrometheusSource(url, timeout_s=timeout_s)
