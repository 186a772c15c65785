"""A real Prometheus for the gate tests, filled by promtool's OpenMetrics backfill.

Each series set describes the HTTP traffic of one (namespace, service, version) over the last ten
minutes in one of four scenarios. The server is started on the resulting TSDB with an empty scrape
configuration, and the gate is evaluated at `eval_time`, the last backfilled timestamp.
"""

import os
import shutil
import socket
import subprocess
import time
import urllib.request

INTERVAL = 15
POINTS = 41  # ten minutes of samples
BUCKETS = ("0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf")

# Requests per second, share of 5xx answers, and the cumulative share of answers under each bucket.
SCENARIOS = {
    "healthy": dict(rate=20.0, errors=0.002, cdf=(0.3, 0.6, 0.995, 1.0, 1.0, 1.0, 1.0)),
    "errors": dict(rate=20.0, errors=0.04, cdf=(0.3, 0.6, 0.995, 1.0, 1.0, 1.0, 1.0)),
    "slow": dict(rate=20.0, errors=0.002, cdf=(0.05, 0.2, 0.5, 0.9, 1.0, 1.0, 1.0)),
    "idle": dict(rate=0.0, errors=0.0, cdf=(1.0,) * 7),
}


def openmetrics(series, end):
    """OpenMetrics text for [(namespace, service, version, scenario)], samples ending at `end`."""
    times = [end - INTERVAL * (POINTS - 1 - i) for i in range(POINTS)]
    counters, histograms = ["# TYPE http_requests counter"], ["# TYPE http_request_duration_seconds histogram"]
    for namespace, service, version, scenario in series:
        shape = SCENARIOS[scenario]
        labels = f'namespace="{namespace}",service="{service}",version="{version}"'
        for code, share in (("200", 1 - shape["errors"]), ("503", shape["errors"])):
            for i, t in enumerate(times):
                counters.append(f'http_requests_total{{{labels},code="{code}"}} '
                                f'{round(shape["rate"] * share * INTERVAL * i, 3)} {t}')
        for i, t in enumerate(times):
            total = shape["rate"] * INTERVAL * i
            for bound, cdf in zip(BUCKETS, shape["cdf"]):
                histograms.append(f'http_request_duration_seconds_bucket{{{labels},le="{bound}"}} '
                                  f'{round(total * cdf, 3)} {t}')
            histograms.append(f"http_request_duration_seconds_count{{{labels}}} {round(total, 3)} {t}")
            histograms.append(f"http_request_duration_seconds_sum{{{labels}}} {round(total * 0.2, 3)} {t}")
    return "\n".join(counters + histograms + ["# EOF"]) + "\n"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrometheusServer:
    def __init__(self, workdir, series):
        self.workdir = workdir
        self.series = series
        self.end = int(time.time()) // INTERVAL * INTERVAL - INTERVAL
        self.eval_time = float(self.end)
        self.port = None
        self.proc = None

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        for tool in ("promtool", "prometheus"):
            if not shutil.which(tool):
                raise RuntimeError(f"{tool} is not installed; `make test` installs Debian's prometheus package")
        data = os.path.join(self.workdir, "tsdb")
        source = os.path.join(self.workdir, "series.om")
        with open(source, "w", encoding="utf-8") as handle:
            handle.write(openmetrics(self.series, self.end))
        subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", source, data],
                       check=True, capture_output=True, timeout=120)
        config = os.path.join(self.workdir, "prometheus.yml")
        with open(config, "w", encoding="utf-8") as handle:
            handle.write("global:\n  scrape_interval: 1m\n")
        self.port = free_port()
        self.log = open(os.path.join(self.workdir, "prometheus.log"), "wb")
        self.proc = subprocess.Popen(
            ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={data}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--storage.tsdb.retention.time=30d"],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"prometheus exited with {self.proc.returncode}; see {self.log.name}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("prometheus did not become ready within 60 s")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if getattr(self, "log", None):
            self.log.close()
