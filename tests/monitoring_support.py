"""Helpers of the monitoring tests: the metric catalogue, a PromQL name scanner, promtool, a Prometheus server."""

import glob
import json
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
import yaml

from conftest import REPO

MONITORING = os.path.join(REPO, "monitoring")
RULE_FILES = sorted(glob.glob(os.path.join(MONITORING, "rules", "*.yml")))
RULE_TESTS = sorted(glob.glob(os.path.join(MONITORING, "rules", "tests", "*.yml")))
DASHBOARDS = sorted(glob.glob(os.path.join(MONITORING, "dashboards", "*.json")))

# Grafana's variables, replaced by representative values before a query is parsed.
GRAFANA_VARIABLES = {
    "$__rate_interval": "5m",
    "$__interval": "1m",
    "$__range": "1h",
    "${network}": "local",
    "$network": "local",
    "${service}": "api-v2",
    "$service": "api-v2",
}

# Words of PromQL that look like names but never are metric names.
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset", "and", "or",
            "unless", "atan2", "inf", "nan"}
LABEL_LIST_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right"}
NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
NUMBER = re.compile(r"(0x[0-9a-fA-F]+|[0-9]*\.?[0-9]+([eE][+-]?[0-9]+)?)[a-zA-Z]*")


def tool(name):
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed; `make test` installs Debian's prometheus package")
    return path


def catalogue():
    with open(os.path.join(MONITORING, "metrics.yml"), encoding="utf-8") as handle:
        return {entry["name"]: entry for entry in yaml.safe_load(handle)["metrics"]}


def allowed_names():
    """Every series name the catalogue allows, with the suffixes histograms and summaries carry."""
    names = set()
    for name, entry in catalogue().items():
        names.add(name)
        if entry["type"] == "histogram":
            names.update({f"{name}_bucket", f"{name}_sum", f"{name}_count"})
        if entry["type"] == "summary":
            names.update({f"{name}_sum", f"{name}_count"})
    return names


def substitute(expr):
    for variable in sorted(GRAFANA_VARIABLES, key=len, reverse=True):
        expr = expr.replace(variable, GRAFANA_VARIABLES[variable])
    return expr


def _skip_group(text, index, opening, closing):
    """Index just past the bracket group that starts at text[index] (strings inside are skipped)."""
    depth = 0
    while index < len(text):
        char = text[index]
        if char in "\"'`":
            index = _skip_string(text, index)
            continue
        if char == opening:
            depth += 1
        elif char == closing:
            depth -= 1
            if depth == 0:
                return index + 1
        index += 1
    raise ValueError(f"unbalanced {opening}{closing} in {text!r}")


def _skip_string(text, index):
    quote = text[index]
    index += 1
    while index < len(text) and text[index] != quote:
        index += 2 if text[index] == "\\" and quote != "`" else 1
    return index + 1


def metric_names(expr):
    """Names of the series a PromQL expression selects, by a scan of its tokens.

    A name followed by '(' is a function, one followed by by/without is an aggregation, keywords are
    skipped with their label lists, and label matchers, strings and ranges are skipped whole.
    The server parses the expression separately; this only finds the names it refers to.
    """
    found = set()
    index = 0
    while index < len(expr):
        char = expr[index]
        if char in "\"'`":
            index = _skip_string(expr, index)
        elif char == "{":
            end = _skip_group(expr, index, "{", "}")
            found.update(re.findall(r'__name__\s*=\s*"([^"]+)"', expr[index:end]))
            index = end
        elif char == "[":
            index = _skip_group(expr, index, "[", "]")
        elif char == "#":
            newline = expr.find("\n", index)
            index = len(expr) if newline < 0 else newline
        elif char.isdigit() or (char == "." and index + 1 < len(expr) and expr[index + 1].isdigit()):
            index = NUMBER.match(expr, index).end()
        elif NAME.match(expr, index):
            word = NAME.match(expr, index).group(0)
            index += len(word)
            rest = expr[index:].lstrip()
            lowered = word.lower()
            if lowered in LABEL_LIST_KEYWORDS:
                if rest.startswith("("):
                    index = _skip_group(expr, expr.index("(", index), "(", ")")
            elif lowered in KEYWORDS:
                pass
            elif rest.startswith("(") or re.match(r"(by|without)\b", rest):
                pass  # a function or an aggregation
            else:
                found.add(word)
        else:
            index += 1
    return found


def rule_expressions():
    """(file, alert, expr) of every rule."""
    found = []
    for path in RULE_FILES:
        with open(path, encoding="utf-8") as handle:
            document = yaml.safe_load(handle)
        for group in document["groups"]:
            for rule in group["rules"]:
                found.append((os.path.basename(path), rule.get("alert") or rule.get("record"), rule["expr"]))
    return found


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Prometheus:
    """A real Prometheus server on 127.0.0.1 with an empty TSDB and the collection's rule files."""

    def __init__(self, directory):
        self.directory = directory
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = None

    def start(self, timeout=60, config=None):
        """Start on `config`, or on an empty configuration that loads the collection's rule files."""
        if config is None:
            config = os.path.join(self.directory, "prometheus.yml")
            with open(config, "w", encoding="utf-8") as handle:
                yaml.safe_dump({"global": {"evaluation_interval": "1h"}, "rule_files": RULE_FILES}, handle)
        self.log = open(os.path.join(self.directory, "prometheus.log"), "w", encoding="utf-8")
        self.proc = subprocess.Popen(
            [tool("prometheus"), f"--config.file={config}", f"--storage.tsdb.path={self.directory}/data",
             f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
            stdout=self.log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"prometheus exited with {self.proc.returncode}: {self._log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as response:
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"prometheus did not become ready: {self._log_tail()}")

    def _log_tail(self):
        with open(os.path.join(self.directory, "prometheus.log"), encoding="utf-8") as handle:
            return handle.read()[-2000:]

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def get(self, path, **params):
        """(HTTP status, decoded JSON body) of a GET on the HTTP API."""
        url = f"{self.url}{path}?{urllib.parse.urlencode(params)}"
        try:
            with urllib.request.urlopen(url, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")

    def query(self, expr):
        return self.get("/api/v1/query", query=expr, time="1700000000")


@pytest.fixture(scope="session")
def rules_prometheus(tmp_path_factory):
    """A Prometheus on the collection's rule files (the backend tests' `prometheus` serves gate metrics)."""
    server = Prometheus(str(tmp_path_factory.mktemp("prometheus"))).start()
    yield server
    server.stop()
