"""The on-chain exporter: the deployed contracts' get-methods, published for Prometheus.

Every scrape reads the chain afresh through the collection's providers (the sandbox emulator over
its state file, or pytoniq's LiteBalancer), so a value is never older than the scrape. A contract
whose reads fail publishes nothing but `tonsurance_exporter_read_success 0`: a stale number would
hide exactly the outage the alerts exist for.

Run it with scripts/tonsurance_exporter.py (serve /metrics, or print one scrape with --once).
"""

import argparse
import asyncio
import logging
import math
import os
import signal
import sys
import threading
import time
import traceback

# Importable without prometheus_client, for ansible-test's import check; ton_metrics_info and main()
# report IMPORT_ERROR before using anything that needs it.
IMPORT_ERROR = None
try:
    from prometheus_client import generate_latest, start_http_server
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
    from prometheus_client.registry import CollectorRegistry
except ImportError:
    IMPORT_ERROR = traceback.format_exc()

from ansible_collections.tonsurance.deploy.plugins.module_utils._monitoring import records
from ansible_collections.tonsurance.deploy.plugins.module_utils._monitoring.errors import MonitoringError, RecordError
from ansible_collections.tonsurance.deploy.plugins.module_utils._ton.errors import (
    ConfigError, GetMethodError, ProviderError, TonError,
)
from ansible_collections.tonsurance.deploy.plugins.module_utils._ton.lite import LiteProvider
from ansible_collections.tonsurance.deploy.plugins.module_utils._ton.sandbox import SandboxChain

NANOTON_PER_TON = 10**9
BPS = 10_000
DEFAULT_PORT = 9464

# The get-methods read from each contract on every scrape; none takes arguments.
READS = {
    "MultiTrancheVault": ("get_total_capital", "get_coverage_sold", "get_utilization_bps", "get_paused"),
    "PricingOracle": ("get_last_update",),
    "PolicyFactory": ("get_policies_created",),
    "PolicyRouter": ("get_policies_routed", "get_paused"),
}

# Every series name a scrape can carry (monitoring/metrics.yml lists each one as source: exporter).
EXPORTED = (
    "vault_total_capital",
    "vault_total_coverage_sold",
    "vault_utilization_ratio",
    "pricing_oracle_last_update_timestamp",
    "policy_creation_total",
    "policy_routed_total",
    "tonsurance_contract_paused",
    "tonsurance_exporter_read_success",
    "tonsurance_exporter_read_duration_seconds",
)

log = logging.getLogger("tonsurance.exporter")


def _integer(stack, contract, method):
    if len(stack) != 1 or not isinstance(stack[0], int) or isinstance(stack[0], bool):
        raise ValueError(f"{contract} {method} returned {len(stack)} value(s), expected one integer")
    return stack[0]


async def read_contracts(provider, addresses):
    """({contract: {method: int}}, {contract: reason}, provider_failed).

    A contract lands in readings or in failures, never both. provider_failed says whether the
    provider itself failed (no liteserver answered), as opposed to a get-method refusing.
    """
    readings, failures, provider_failed = {}, {}, False
    for contract, methods in READS.items():
        values = {}
        try:
            for method in methods:
                stack = await provider.run_get_method(addresses[contract], method, [])
                values[method] = _integer(stack, contract, method)
        except GetMethodError as exc:
            # -256: the account is not active, the usual sign of a record from another chain or a lost state.
            failures[contract] = (f"{contract} at {exc.address} is not an active account" if exc.exit_code == -256
                                  else str(exc))
            continue
        except (TonError, ValueError) as exc:
            failures[contract] = str(exc)
            provider_failed = provider_failed or isinstance(exc, ProviderError)
            continue
        readings[contract] = values
    return readings, failures, provider_failed


def utilization(capital_nanoton, coverage_nanoton, utilization_bps):
    """The vault's own floored ratio; coverage outstanding on zero capital is infinitely utilized, not 0."""
    if capital_nanoton == 0:
        return math.inf if coverage_nanoton > 0 else 0.0
    return utilization_bps / BPS


def families(network, readings, failures, duration_seconds):
    """The metric families of one scrape; pure, so the exact output is easy to check."""
    labels = [network]

    def gauge(name, help_text, value, extra_labels=()):
        family = GaugeMetricFamily(name, help_text, labels=["network", *[key for key, _value in extra_labels]])
        family.add_metric(labels + [value for _key, value in extra_labels], value)
        return family

    out = []
    vault = readings.get("MultiTrancheVault")
    if vault is not None:
        capital, coverage = vault["get_total_capital"], vault["get_coverage_sold"]
        out.append(gauge("vault_total_capital", "Capital recorded in MultiTrancheVault, in TON.",
                         capital / NANOTON_PER_TON))
        out.append(gauge("vault_total_coverage_sold", "Coverage sold against the vault, in TON.",
                         coverage / NANOTON_PER_TON))
        out.append(gauge("vault_utilization_ratio", "Coverage sold over capital; +Inf for coverage on zero capital.",
                         utilization(capital, coverage, vault["get_utilization_bps"])))
    oracle = readings.get("PricingOracle")
    if oracle is not None:
        out.append(gauge("pricing_oracle_last_update_timestamp",
                         "Unix time of the oracle's last rate update; 0 before the first one.",
                         oracle["get_last_update"]))
    for contract, name, method, help_text in (
        ("PolicyFactory", "policy_creation", "get_policies_created", "Policies numbered by PolicyFactory."),
        ("PolicyRouter", "policy_routed", "get_policies_routed", "Policies PolicyRouter handed to a shard."),
    ):
        if contract in readings:
            family = CounterMetricFamily(name, help_text, labels=["network"])
            family.add_metric(labels, readings[contract][method])
            out.append(family)

    paused = GaugeMetricFamily("tonsurance_contract_paused", "1 when the contract is paused, else 0.",
                               labels=["network", "contract"])
    for contract in ("MultiTrancheVault", "PolicyRouter"):
        if contract in readings:
            paused.add_metric([network, contract], 1 if readings[contract]["get_paused"] else 0)
    if paused.samples:
        out.append(paused)

    success = GaugeMetricFamily("tonsurance_exporter_read_success",
                                "1 when every get-method of the contract answered in this scrape, else 0.",
                                labels=["network", "contract"])
    for contract in READS:
        success.add_metric([network, contract], 0 if contract in failures else 1)
    out.append(success)
    out.append(gauge("tonsurance_exporter_read_duration_seconds", "Time this scrape spent reading the chain.",
                     duration_seconds))
    return out


def values_of(readings):
    """The exported values as plain numbers, keyed by metric name, for module results and logs."""
    found = {}
    vault = readings.get("MultiTrancheVault")
    if vault is not None:
        found["vault_total_capital"] = vault["get_total_capital"] / NANOTON_PER_TON
        found["vault_total_coverage_sold"] = vault["get_coverage_sold"] / NANOTON_PER_TON
        ratio = utilization(vault["get_total_capital"], vault["get_coverage_sold"], vault["get_utilization_bps"])
        found["vault_utilization_ratio"] = "+Inf" if math.isinf(ratio) else ratio
    if "PricingOracle" in readings:
        found["pricing_oracle_last_update_timestamp"] = readings["PricingOracle"]["get_last_update"]
    if "PolicyFactory" in readings:
        found["policy_creation_total"] = readings["PolicyFactory"]["get_policies_created"]
    if "PolicyRouter" in readings:
        found["policy_routed_total"] = readings["PolicyRouter"]["get_policies_routed"]
    return found


class ChainSource:
    """What one scrape reads: the contracts named by the deployment record, through one provider.

    The sandbox is re-opened read-only for every scrape (no lock, so a deploy in progress is never
    blocked; the state file is replaced atomically). A lite provider is kept between scrapes and
    rebuilt after a failure.
    """

    def __init__(self, network, provider="sandbox", sandbox_state=None, lite_config=None, record=None,
                 records_dir=None):
        if provider == "sandbox":
            if network == "mainnet":
                raise ConfigError("the sandbox provider cannot stand in for mainnet")
            if not sandbox_state:
                raise ConfigError("provider sandbox needs sandbox_state (the chain state file)")
        elif provider == "lite":
            if not lite_config:
                raise ConfigError(f"provider lite on {network} needs lite_config (a global-config file path)")
        else:
            raise ConfigError(f"unknown provider {provider}")
        if bool(record) == bool(records_dir):
            raise ConfigError("give exactly one of record (a deployment record) and records_dir (its directory)")
        self.network = network
        self.provider = provider
        self.sandbox_state = sandbox_state
        self.lite_config = lite_config
        self.record = record
        self.records_dir = records_dir
        self.record_path = None
        self._record_key = None
        self._addresses = None
        self._lite = None

    def addresses(self):
        """Contract addresses, re-read whenever the newest record changes (a redeploy needs no restart)."""
        path = self.record or records.latest_record(self.records_dir, self.network)
        try:
            stat = os.stat(path)
        except OSError as exc:
            raise RecordError(f"deployment record {path} for {self.network} is unreadable: {exc.strerror}") from exc
        key = (path, stat.st_mtime_ns, stat.st_size)
        if key != self._record_key:
            document = records.read_record(path)
            if document.get("network") not in (None, self.network):
                raise RecordError(f"deployment record {path} is for {document.get('network')}, not {self.network}")
            self._addresses = records.contract_addresses(document, path)
            self._record_key = key
            self.record_path = path
        return self._addresses

    async def _provider(self):
        if self.provider == "sandbox":
            return SandboxChain(self.sandbox_state, persist=False).open()
        if self._lite is None:
            if not os.path.isfile(self.lite_config):
                raise ConfigError(f"lite_config {self.lite_config} for {self.network} does not exist")
            lite = LiteProvider(self.lite_config, self.network, retries=1, backoff=0.5)
            await lite.start_up()
            self._lite = lite
        return self._lite

    async def read(self):
        """(readings, failures, seconds) of one pass over the contracts; never raises for a chain problem."""
        started = time.monotonic()
        try:
            addresses = self.addresses()
            provider = await self._provider()
        except (MonitoringError, TonError) as exc:
            return {}, {contract: str(exc) for contract in READS}, time.monotonic() - started
        try:
            readings, failures, provider_failed = await read_contracts(provider, addresses)
        finally:
            if self.provider == "sandbox":
                provider.close()
        if provider_failed:
            await self.close()  # rebuild the balancer on the next scrape
        return readings, failures, time.monotonic() - started

    async def close(self):
        if self._lite is not None:
            lite, self._lite = self._lite, None
            try:
                await lite.close_all()
            except (ProviderError, OSError):
                pass


class ChainCollector:
    """prometheus_client collector: one chain pass per scrape, run on the exporter's event loop."""

    def __init__(self, source, runner, timeout=8.0):
        self.source = source
        self.runner = runner
        self.timeout = timeout
        self.last_failures = {}

    def collect(self):
        try:
            readings, failures, seconds = self.runner(self.source.read(), self.timeout)
        except Exception as exc:  # a scrape must answer; the failure shows as read_success 0
            readings, failures, seconds = {}, {contract: f"scrape failed: {exc!r}" for contract in READS}, 0.0
        for contract, reason in sorted(failures.items()):
            log.warning("network %s: cannot read %s: %s", self.source.network, contract, reason)
        self.last_failures = failures
        return iter(families(self.source.network, readings, failures, seconds))


def scrape_once(source):
    """(exposition text, readings, failures) of one scrape, run on a private event loop."""

    async def once():
        try:
            return await source.read()
        finally:
            await source.close()

    readings, failures, seconds = asyncio.run(once())
    registry = CollectorRegistry()
    registry.register(_Fixed(families(source.network, readings, failures, seconds)))
    return generate_latest(registry).decode("utf-8"), readings, failures


class _Fixed:
    def __init__(self, metric_families):
        self.metric_families = metric_families

    def collect(self):
        return iter(self.metric_families)


class BackgroundLoop:
    """An asyncio loop in a daemon thread, so the lite provider's connections outlive one scrape."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="chain-reads", daemon=True)

    def start(self):
        self.thread.start()
        return self

    def __call__(self, coro, timeout):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self):
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


def parse_listen(value):
    host, _colon, port = value.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"--listen wants HOST:PORT, got {value!r}")
    return host.strip("[]"), int(port)


def parse_args(argv):
    parser = argparse.ArgumentParser(
        prog="tonsurance_exporter",
        description="Publish the Tonsurance contracts' on-chain state as Prometheus metrics.",
    )
    parser.add_argument("--network", required=True, choices=["local", "testnet", "mainnet"])
    parser.add_argument("--provider", default="sandbox", choices=["sandbox", "lite"])
    parser.add_argument("--sandbox-state", help="sandbox chain state file (provider sandbox)")
    parser.add_argument("--lite-config", help="TON global-config file of the liteservers (provider lite)")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--record", help="a deployment record naming the contracts")
    where.add_argument("--records-dir", help="directory of deployment records; the newest for the network is used")
    parser.add_argument("--listen", type=parse_listen, default=("127.0.0.1", DEFAULT_PORT),
                        help=f"HOST:PORT to serve /metrics on (default 127.0.0.1:{DEFAULT_PORT})")
    # Below Prometheus' default 10 s scrape timeout: a slow chain shows as read failures, not as a lost scrape.
    parser.add_argument("--timeout", type=float, default=8.0, help="seconds one scrape may spend on the chain")
    parser.add_argument("--once", action="store_true", help="print one scrape and exit (1 when a read failed)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name in ("LiteBalancer", "LiteClient", "AdnlTransport", "AdnlNode", "AdnlChannel", "sync"):
        logging.getLogger(name).setLevel(logging.WARNING)
    if IMPORT_ERROR:
        log.error("tonsurance_exporter: the prometheus_client library is missing from %s", sys.executable)
        return 2
    try:
        source = ChainSource(args.network, args.provider, args.sandbox_state, args.lite_config, args.record,
                             args.records_dir)
    except (MonitoringError, TonError) as exc:
        log.error("tonsurance_exporter: %s", exc)
        return 2

    if args.once:
        text, _readings, failures = scrape_once(source)
        sys.stdout.write(text)
        for contract, reason in sorted(failures.items()):
            log.error("tonsurance_exporter: cannot read %s on %s: %s", contract, args.network, reason)
        return 1 if failures else 0

    runner = BackgroundLoop().start()
    registry = CollectorRegistry()
    registry.register(ChainCollector(source, runner, args.timeout))
    host, port = args.listen
    server, _thread = start_http_server(port, addr=host, registry=registry)
    log.info("serving /metrics of %s on %s:%s", args.network, host, port)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_args: stop.set())
    stop.wait()
    server.shutdown()
    runner(source.close(), 10)
    runner.stop()
    return 0
