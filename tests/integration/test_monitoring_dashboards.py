"""The six Grafana dashboards: every query parses in a real Prometheus and uses only catalogued metrics."""

import json
import os
import re

import pytest

from monitoring_support import DASHBOARDS, allowed_names, catalogue, metric_names, substitute

EXPECTED = {
    "Tonsurance / System Overview",
    "Tonsurance / Smart Contracts",
    "Tonsurance / API Performance",
    "Tonsurance / Oracle Health",
    "Tonsurance / Vault Analytics",
    "Tonsurance / Policy Analytics",
}


def load(path):
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def panels(document):
    for panel in document["panels"]:
        yield panel
        yield from panel.get("panels", [])  # panels folded inside a row


def queries():
    """(dashboard file, panel title, expr) of every target."""
    found = []
    for path in DASHBOARDS:
        for panel in panels(load(path)):
            for target in panel.get("targets", []):
                found.append((os.path.basename(path), panel["title"], target["expr"]))
    return found


def variable_queries():
    found = []
    for path in DASHBOARDS:
        for variable in load(path).get("templating", {}).get("list", []):
            if variable["type"] == "query":
                query = variable["query"]["query"] if isinstance(variable["query"], dict) else variable["query"]
                found.append((os.path.basename(path), variable["name"], query))
    return found


def test_the_six_dashboards_exist_with_unique_uids():
    documents = [load(path) for path in DASHBOARDS]
    assert {d["title"] for d in documents} == EXPECTED
    uids = [d["uid"] for d in documents]
    assert len(set(uids)) == len(uids) == 6
    for document in documents:
        assert document.get("id") is None, "provisioned dashboards carry no database id"
        assert "tonsurance" in document["tags"]


@pytest.mark.parametrize("path", DASHBOARDS, ids=os.path.basename)
def test_panels_are_complete_and_use_the_datasource_variable(path):
    document = load(path)
    ids = [panel["id"] for panel in panels(document)]
    assert len(set(ids)) == len(ids), "panel ids must be unique"
    variables = {v["name"] for v in document["templating"]["list"]}
    assert "datasource" in variables
    for panel in panels(document):
        assert panel["title"] and panel.get("gridPos"), panel
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        assert panel["targets"], f"{panel['title']} has no query"
        for target in panel["targets"]:
            used = set(re.findall(r"\$\{?(\w+)", target["expr"])) - {"__rate_interval", "__interval", "__range"}
            assert used <= variables, f"{panel['title']} uses undefined variables {used - variables}"


@pytest.mark.parametrize("where,title,expr", queries(), ids=lambda v: v if isinstance(v, str) else "")
def test_panel_query_parses_in_prometheus(rules_prometheus, where, title, expr):
    status, body = rules_prometheus.query(substitute(expr))
    assert status == 200, f"{where} / {title}: {body.get('error')}"


@pytest.mark.parametrize("where,title,expr", queries(), ids=lambda v: v if isinstance(v, str) else "")
def test_panel_query_uses_only_catalogued_metrics(where, title, expr):
    names = metric_names(substitute(expr))
    assert names, f"{where} / {title}: the query selects no metric"
    unknown = names - allowed_names()
    assert not unknown, f"{where} / {title} uses metrics missing from monitoring/metrics.yml: {sorted(unknown)}"


@pytest.mark.parametrize("where,name,query", variable_queries(), ids=lambda v: v if isinstance(v, str) else "")
def test_variable_queries_use_catalogued_metrics(where, name, query):
    match = re.fullmatch(r"label_values\((\w+),\s*(\w+)\)", query)
    assert match, f"{where} ${name}: unexpected variable query {query}"
    metric, label = match.groups()
    assert metric in catalogue(), f"{where} ${name}: {metric} is not catalogued"
    assert label in catalogue()[metric]["labels"], f"{where} ${name}: {metric} has no label {label}"


def test_every_exported_metric_is_on_a_dashboard():
    shown = set()
    for _dashboard, _title, expr in queries():
        shown |= metric_names(substitute(expr))
    exported = {name for name, entry in catalogue().items() if entry["source"] == "exporter"}
    assert not exported - shown, f"exported but shown nowhere: {sorted(exported - shown)}"


def test_a_broken_query_is_refused(rules_prometheus):
    """The parse check itself: the server answers 400 to a query that does not parse."""
    status, body = rules_prometheus.query("sum(rate(http_requests_total[5m])")
    assert status == 400 and body["errorType"] == "bad_data"
