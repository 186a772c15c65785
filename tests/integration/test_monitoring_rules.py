"""The alert rules, proven by Debian's promtool and by a real Prometheus server loading them."""

import os
import re
import subprocess

import pytest
import yaml

from monitoring_support import (
    MONITORING, REPO, RULE_FILES, RULE_TESTS, allowed_names, metric_names, rule_expressions, tool,
)

# The alerts the runbook names, with the severity it gives each.
RUNBOOK_ALERTS = {
    "OracleUpdatesStale": "critical",
    "VaultInsolvencyRisk": "critical",
    "ClaimsProcessorDown": "critical",
    "DatabaseConnectionPoolExhausted": "critical",
    "CircuitBreakerTriggered": "critical",
    "CiTestFailures": "high",
    "BridgeHealthDegraded": "high",
    "HighGasCosts": "high",
    "HedgeExecutionDelayed": "high",
    "AbnormalClaimRate": "high",
    "ApiErrorRateHigh": "high",
    "ApiLatencyHigh": "high",
}


def alerts():
    found = {}
    for path in RULE_FILES:
        with open(path, encoding="utf-8") as handle:
            for group in yaml.safe_load(handle)["groups"]:
                for rule in group["rules"]:
                    if "alert" in rule:
                        found[rule["alert"]] = rule
    return found


def unit_test_cases():
    """alertname -> list of expected alert lists, over every promtool test file."""
    cases = {}
    for path in RULE_TESTS:
        with open(path, encoding="utf-8") as handle:
            for test in yaml.safe_load(handle)["tests"]:
                for case in test.get("alert_rule_test", []):
                    cases.setdefault(case["alertname"], []).append(case.get("exp_alerts") or [])
    return cases


def test_rule_files_pass_promtool_check_with_lint_fatal():
    proc = subprocess.run([tool("promtool"), "check", "rules", "--lint=all", "--lint-fatal", *RULE_FILES],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("SUCCESS") == len(RULE_FILES)


def test_rule_unit_tests_pass_promtool_test():
    assert RULE_TESTS, "no promtool unit tests found"
    proc = subprocess.run([tool("promtool"), "test", "rules", *RULE_TESTS], cwd=os.path.join(MONITORING, "rules"),
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("SUCCESS") == len(RULE_TESTS), proc.stdout


def test_every_runbook_alert_exists_with_its_severity():
    defined = alerts()
    missing = sorted(set(RUNBOOK_ALERTS) - set(defined))
    assert not missing, f"alerts the runbook names are missing: {missing}"
    for name, severity in RUNBOOK_ALERTS.items():
        assert defined[name]["labels"]["severity"] == severity, name


def test_rollout_gates_use_the_agreed_thresholds():
    defined = alerts()
    assert re.search(r'status=~"5\.\."', defined["ApiErrorRateHigh"]["expr"])
    assert "[5m]" in defined["ApiErrorRateHigh"]["expr"] and defined["ApiErrorRateHigh"]["expr"].rstrip().endswith(
        "> 0.01")
    assert "histogram_quantile(0.99" in defined["ApiLatencyHigh"]["expr"]
    assert "[5m]" in defined["ApiLatencyHigh"]["expr"] and defined["ApiLatencyHigh"]["expr"].rstrip().endswith("> 0.5")
    assert "> 300" in defined["OracleUpdatesStale"]["expr"]
    assert "> 0.8" in defined["VaultInsolvencyRisk"]["expr"]
    assert "> 0.5" in defined["HighGasCosts"]["expr"]


def test_every_alert_has_severity_summary_and_a_runbook_section():
    with open(os.path.join(REPO, "docs", "monitoring.md"), encoding="utf-8") as handle:
        runbook = handle.read()
    anchors = {f"#{heading.strip().lower()}" for heading in re.findall(r"^### (\S+)", runbook, re.M)}
    for name, rule in alerts().items():
        assert rule["labels"].get("severity") in ("critical", "high"), name
        summary = rule["annotations"].get("summary", "")
        # "<what is wrong>; <what to do>"
        assert len(summary.split()) >= 12 and ";" in summary, f"{name}: the summary must say what to do"
        link = rule["annotations"].get("runbook", "")
        assert link.startswith("docs/monitoring.md#") and link[len("docs/monitoring.md"):] in anchors, name


def test_every_alert_is_unit_tested_firing_and_quiet():
    cases = unit_test_cases()
    for name in alerts():
        assert any(cases.get(name, [])), f"{name}: no promtool case where it fires"
        assert any(not expected for expected in cases.get(name, [])), f"{name}: no promtool case where it is quiet"


@pytest.mark.parametrize("where,name,expr", rule_expressions(), ids=lambda v: v if isinstance(v, str) else "")
def test_rule_queries_use_only_catalogued_metrics(where, name, expr):
    unknown = metric_names(expr) - allowed_names()
    assert not unknown, f"{where} {name} uses metrics missing from monitoring/metrics.yml: {sorted(unknown)}"


def test_prometheus_server_loads_every_rule_group(rules_prometheus):
    status, body = rules_prometheus.get("/api/v1/rules")
    assert status == 200
    loaded = {rule["name"] for group in body["data"]["groups"] for rule in group["rules"]}
    assert loaded == set(alerts())
