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


def samples(family, suffix=""):
    return {
        tuple(sorted(s.labels.items())): s.value
        for s in families[family].samples
        if s.name == family + suffix
    }


logins = samples("warden_logins", "_total")
check(families["warden_logins"].type == "counter", "login outcomes are a counter")
check(logins.get((("outcome", "success"),), 0) > 0, f"the clients' logins were counted ({logins})")
check(families["warden_lockouts"].type == "counter", "locks set are a counter")
for name in ("warden_password_hash_seconds", "warden_password_hash_queue_wait_seconds"):
    check(families[name].type == "histogram", f"{name} is a histogram")
    counted = samples(name, "_count").get((), 0)
    check(counted >= sum(logins.values()), f"{name} counted every login's hash ({counted:.0f})")
pool = samples("warden_db_pool_connections").get(())
most = samples("warden_db_pool_max_connections").get(())
check(pool is not None and most and 0 < pool <= most, f"the pool's use is a gauge ({pool} of {most})")
