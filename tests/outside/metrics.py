"""Warden's metrics through a parser nobody here wrote: prometheus-client's OpenMetrics parser.

Scrapes the metrics listener after the other clients have run, and checks that the document
parses, that each family has its type, and that every route label is a template of the API
(never a raw path with an id). Exits non-zero at the first broken expectation.

Usage: metrics.py METRICS_URL API_URL
"""

import re
import sys

import requests
from prometheus_client.openmetrics.parser import text_string_to_metric_families

METRICS, API = sys.argv[1], sys.argv[2].rstrip("/")


def check(condition, what):
    if not condition:
        sys.exit(f"FAIL: {what}")
    print(f"ok: {what}")


answer = requests.get(METRICS, timeout=10)
check(answer.status_code == 200, "the metrics listener answers 200")
check(
    answer.headers["content-type"].startswith("application/openmetrics-text"),
    "as OpenMetrics text",
)
families = {f.name: f for f in text_string_to_metric_families(answer.text)}
check(families["warden_http_requests"].type == "counter", "requests are a counter")
check(
    families["warden_http_request_duration_seconds"].type == "histogram",
    "latency is a histogram",
)
check(families["warden_build"].type == "info", "the build is an info metric")

templates = set(requests.get(f"{API}/openapi.json", timeout=10).json()["paths"]) | {"other"}
routes = {
    s.labels["route"]
    for f in (families["warden_http_requests"], families["warden_http_request_duration_seconds"])
    for s in f.samples
    if "route" in s.labels
}
check(routes and routes <= templates, f"every route label is a template ({len(routes)} seen)")
check(
    not any(re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-", r) for r in routes),
    "no route label carries an id",
)
served = sum(
    s.value
    for s in families["warden_http_requests"].samples
    if s.name == "warden_http_requests_total"
)
check(served > 100, f"the clients' requests were counted ({served:.0f})")
