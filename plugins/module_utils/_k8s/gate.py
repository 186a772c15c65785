"""The health gate between rollout steps: three instant queries to Prometheus's HTTP API.

It fails closed. No answer, an error answer, an empty result, NaN, or a request rate of zero all
count against the new pods, the same as a breached threshold.
"""

import json
import math
import string
import urllib.parse

from .errors import ConfigError, GateError

IMPORT_ERROR = None
try:
    import urllib3
except ImportError:  # pragma: no cover - urllib3 comes with the kubernetes client
    urllib3 = None
    IMPORT_ERROR = "urllib3 is not installed"

# $namespace, $service, $version and $window are substituted; PromQL's own braces stay as they are.
SELECTOR = 'namespace="$namespace",service="$service",version="$version"'
DEFAULT_QUERIES = {
    "request_rate": f"sum(rate(http_requests_total{{{SELECTOR}}}[$window]))",
    "error_rate": (f'(sum(rate(http_requests_total{{{SELECTOR},code=~"5.."}}[$window])) or vector(0))'
                   f" / sum(rate(http_requests_total{{{SELECTOR}}}[$window]))"),
    "latency_p99_seconds": (f"histogram_quantile(0.99, sum by (le) "
                            f"(rate(http_request_duration_seconds_bucket{{{SELECTOR}}}[$window])))"),
}


def render(template, values):
    try:
        return string.Template(template).substitute(values)
    except (KeyError, ValueError) as exc:
        raise ConfigError(f"gate query {template!r} has a placeholder other than "
                          f"$namespace, $service, $version, $window: {exc}") from None


class Prometheus:
    """Instant queries against one Prometheus server, at `eval_time` (Unix seconds) or now."""

    def __init__(self, url, timeout=10.0, eval_time=None, bearer_token=None, ca_path=None):
        if not url:
            raise ConfigError("no Prometheus URL to ask; the gate fails closed without one")
        parsed = urllib.parse.urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ConfigError(f"Prometheus URL {url} is not an http(s) URL")
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.eval_time = eval_time
        self.headers = {"Authorization": f"Bearer {bearer_token}"} if bearer_token else {}
        tls = {"ca_certs": ca_path} if ca_path else {}
        self.pool = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(total=timeout), **tls)

    def query(self, expression):
        """Values of every sample of an instant vector (or the scalar), as floats."""
        fields = {"query": expression}
        if self.eval_time is not None:
            fields["time"] = f"{self.eval_time:.3f}"
        try:
            response = self.pool.request("POST", f"{self.url}/api/v1/query", fields=fields, headers=self.headers,
                                         encode_multipart=False)
        except urllib3.exceptions.HTTPError as exc:
            raise GateError(f"Prometheus unreachable at {self.url}: {type(exc).__name__}") from None
        try:
            document = json.loads(response.data or b"{}")
        except ValueError:
            document = {}
        if response.status != 200 or document.get("status") != "success":
            reason = document.get("error") or f"HTTP {response.status}"
            raise GateError(f"Prometheus at {self.url} refused the query: {reason}")
        data = document.get("data") or {}
        if data.get("resultType") == "scalar":
            return [float(data["result"][1])]
        if data.get("resultType") != "vector":
            raise GateError(f"Prometheus at {self.url} answered a {data.get('resultType')}, not an instant vector")
        return [float(sample["value"][1]) for sample in data.get("result") or []]


class Verdict:
    def __init__(self, measured, reasons, queries):
        self.measured = measured
        self.reasons = reasons
        self.queries = queries

    @property
    def passed(self):
        return not self.reasons

    def as_dict(self):
        return {"passed": self.passed, "measured": self.measured, "reasons": self.reasons}


def _worst(values):
    """The largest real value (several series from a custom query: judge by the worst), or None."""
    real = [value for value in values if not math.isnan(value)]
    return max(real) if real else None


def judge(measured, error_rate_threshold, latency_p99_threshold_ms):
    """Reasons to abort, from measured values (None means the query returned no data)."""
    reasons = []
    rate = measured.get("request_rate")
    if rate is None or rate <= 0:
        reasons.append("no data: the new pods served no requests in the window")
    if measured.get("error_rate") is None:
        if rate:
            reasons.append("no data: the error-rate query returned nothing")
    elif measured["error_rate"] > error_rate_threshold:
        reasons.append(f"error rate {measured['error_rate']:.2%} above {error_rate_threshold:.2%}")
    if measured.get("latency_beyond_buckets"):
        reasons.append("p99 latency beyond the largest histogram bucket")
    elif measured.get("latency_p99_ms") is None:
        if rate:
            reasons.append("no data: the p99 latency query returned nothing")
    elif measured["latency_p99_ms"] > latency_p99_threshold_ms:
        reasons.append(f"p99 latency {measured['latency_p99_ms']:.0f} ms above {latency_p99_threshold_ms:g} ms")
    return reasons


def _rounded(value, digits):
    return None if value is None else round(value, digits)


def evaluate(prometheus, queries, labels, error_rate_threshold, latency_p99_threshold_ms):
    """Run the three queries for the new pods and judge them; an unreachable server is a failed gate."""
    rendered = {name: render(template, labels) for name, template in queries.items()}
    measured = {"request_rate": None, "error_rate": None, "latency_p99_ms": None}
    try:
        measured["request_rate"] = _rounded(_worst(prometheus.query(rendered["request_rate"])), 4)
        measured["error_rate"] = _rounded(_worst(prometheus.query(rendered["error_rate"])), 6)
        p99 = _worst(prometheus.query(rendered["latency_p99_seconds"]))
    except GateError as exc:
        return Verdict(measured, [str(exc)], rendered)
    if p99 is not None and math.isinf(p99):
        measured["latency_beyond_buckets"] = True
    else:
        measured["latency_p99_ms"] = _rounded(None if p99 is None else p99 * 1000.0, 1)
    return Verdict(measured, judge(measured, error_rate_threshold, latency_p99_threshold_ms), rendered)
