"""The PromQL name scanner the dashboard and rule checks rely on."""

import pytest

from monitoring_support import metric_names


@pytest.mark.parametrize("expr,names", [
    ("up", {"up"}),
    ('sum by (service) (rate(http_requests_total{status=~"5.."}[5m]))', {"http_requests_total"}),
    ("histogram_quantile(0.99, sum by (service, le) (rate(x_bucket[5m]))) > 0.5", {"x_bucket"}),
    ("a / on (network) group_left (contract) b", {"a", "b"}),
    ("max without (instance) (c) > bool 1e9 and d offset 1d", {"c", "d"}),
    ('count(ALERTS{alertstate="firing"}) or vector(0)', {"ALERTS"}),
    ('{__name__="via_matcher", job="x"}', {"via_matcher"}),
    ('time() - max(pricing_oracle_last_update_timestamp{network="local"})', {"pricing_oracle_last_update_timestamp"}),
    ('label_replace(up, "dst", "$1", "src", "(.*)")', {"up"}),
    ("rate(e[5m:1m]) # a comment naming not_a_metric", {"e"}),
    ("sum(f) by (job)", {"f"}),
])
def test_metric_names(expr, names):
    assert metric_names(expr) == names
