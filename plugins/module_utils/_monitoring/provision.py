"""The monitoring bundle (rules, dashboards, Prometheus and Grafana provisioning) and its file target.

render() turns the collection's monitoring/ sources into {relative path: text}; the same bundle feeds
the files under a directory (here) and the ConfigMaps of a cluster (kube.py), so both hold the
same bytes.
"""

import glob
import json
import os
import tempfile
import traceback

# The rule files are YAML; PyYAML comes with ansible-core on the controller, but a module's Python may
# lack it. monitoring_provision reports YAML_IMPORT_ERROR before using anything here.
YAML_IMPORT_ERROR = None
try:
    import yaml
except ImportError:
    YAML_IMPORT_ERROR = traceback.format_exc()

from .errors import ProvisionError

RULES_DIR = "prometheus/rules"
DASHBOARDS_DIR = "grafana/dashboards"
# Directories whose every file the bundle owns: a file the collection no longer ships is removed.
OWNED_DIRS = (RULES_DIR, DASHBOARDS_DIR)
HEADER = "# Managed by tonsurance.deploy (monitoring_provision); changes here are overwritten.\n"


def _read(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except OSError as exc:
        raise ProvisionError(f"cannot read {path}: {exc.strerror}") from exc


def sources(sources_dir):
    """({rule file name: text}, {dashboard file name: text}) shipped in the collection's monitoring/."""
    rules = {os.path.basename(p): _read(p) for p in sorted(glob.glob(os.path.join(sources_dir, "rules", "*.yml")))}
    dashboards = {os.path.basename(p): _read(p)
                  for p in sorted(glob.glob(os.path.join(sources_dir, "dashboards", "*.json")))}
    if not rules or not dashboards:
        raise ProvisionError(f"{sources_dir} holds no rules/*.yml or no dashboards/*.json")
    for name, text in dashboards.items():
        try:
            json.loads(text)
        except ValueError as exc:
            raise ProvisionError(f"dashboard {name} is not valid JSON: {exc}") from exc
    for name, text in rules.items():
        try:
            document = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ProvisionError(f"rule file {name} is not valid YAML: {exc}") from exc
        if not isinstance(document, dict) or "groups" not in document:
            raise ProvisionError(f"rule file {name} has no rule groups")
    return rules, dashboards


def _yaml(document):
    return HEADER + yaml.safe_dump(document, sort_keys=False, default_flow_style=False)


def prometheus_config(network, base_dir, exporter_target, scrape_interval, evaluation_interval):
    return _yaml({
        "global": {
            "scrape_interval": scrape_interval,
            "evaluation_interval": evaluation_interval,
            "external_labels": {"network": network},
        },
        "rule_files": [os.path.join(base_dir, RULES_DIR, "*.yml")],
        "scrape_configs": [{
            "job_name": "tonsurance-exporter",
            "static_configs": [{"targets": [exporter_target], "labels": {"network": network}}],
        }],
    })


def grafana_dashboards_provider(dashboards_path):
    return _yaml({
        "apiVersion": 1,
        "providers": [{
            "name": "tonsurance",
            "folder": "Tonsurance",
            "type": "file",
            "disableDeletion": True,
            "allowUiUpdates": False,
            "updateIntervalSeconds": 60,
            "options": {"path": dashboards_path},
        }],
    })


def grafana_datasource(prometheus_url):
    return _yaml({
        "apiVersion": 1,
        "datasources": [{
            "name": "Prometheus",
            "uid": "tonsurance-prometheus",
            "type": "prometheus",
            "access": "proxy",
            "url": prometheus_url,
            "isDefault": True,
        }],
    })


def render(sources_dir, network, base_dir, exporter_target, scrape_interval="30s", evaluation_interval="30s",
           prometheus_url="http://127.0.0.1:9090"):
    """{path relative to base_dir: text} of everything the file target provisions."""
    rules, dashboards = sources(sources_dir)
    bundle = {f"{RULES_DIR}/{name}": text for name, text in rules.items()}
    bundle.update({f"{DASHBOARDS_DIR}/{name}": text for name, text in dashboards.items()})
    bundle["prometheus/prometheus.yml"] = prometheus_config(network, base_dir, exporter_target, scrape_interval,
                                                            evaluation_interval)
    bundle["grafana/provisioning/dashboards/tonsurance.yml"] = grafana_dashboards_provider(
        os.path.join(base_dir, DASHBOARDS_DIR))
    bundle["grafana/provisioning/datasources/tonsurance.yml"] = grafana_datasource(prometheus_url)
    return bundle


def _current(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProvisionError(f"cannot read {path}: {exc}") from exc


def _write_atomic(path, text):
    directory = os.path.dirname(path)
    os.makedirs(directory, mode=0o755, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".provision-", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def plan_files(base_dir, bundle):
    """[(relative path, action, before, after)] with action created, updated, unchanged or removed."""
    plan = []
    for relative in sorted(bundle):
        before = _current(os.path.join(base_dir, relative))
        action = "created" if before is None else ("unchanged" if before == bundle[relative] else "updated")
        plan.append((relative, action, before, bundle[relative]))
    for owned in OWNED_DIRS:
        directory = os.path.join(base_dir, owned)
        if not os.path.isdir(directory):
            continue
        for name in sorted(os.listdir(directory)):
            relative = f"{owned}/{name}"
            if relative not in bundle and os.path.isfile(os.path.join(directory, name)) and not name.startswith("."):
                plan.append((relative, "removed", _current(os.path.join(directory, name)), None))
    return plan


def apply_files(base_dir, plan):
    try:
        for relative, action, _before, after in plan:
            path = os.path.join(base_dir, relative)
            if action in ("created", "updated"):
                _write_atomic(path, after)
            elif action == "removed":
                os.unlink(path)
    except OSError as exc:
        raise ProvisionError(f"cannot provision monitoring files under {base_dir}: {exc}") from exc
