"""Contract addresses for the exporter, from the deployment records the deployment_record module writes."""

import json
import os
import re

from .errors import RecordError

# The contracts the exporter reads, by the `contract` field of a record entry.
CONTRACTS = ("MultiTrancheVault", "PricingOracle", "PolicyFactory", "PolicyRouter")


def latest_record(directory, network):
    """Path of the newest `<network>-<YYYYMMDD>.json`; the `.<HHMMSS>` copies kept beside it are older runs."""
    pattern = re.compile(rf"^{re.escape(network)}-(\d{{8}})\.json$")
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        names = []
    except OSError as exc:
        raise RecordError(f"deployment records directory {directory} for {network} is unreadable: "
                          f"{exc.strerror}") from exc
    dated = sorted((match.group(1), name) for name in names for match in [pattern.match(name)] if match)
    if not dated:
        raise RecordError(f"no deployment record {network}-<YYYYMMDD>.json in {directory}; deploy first")
    return os.path.join(directory, dated[-1][1])


def read_record(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError) as exc:
        raise RecordError(f"deployment record {path} is unreadable: {exc}") from exc


def contract_addresses(record, path="the deployment record"):
    """{contract name: raw address} of the contracts the exporter reads; each must appear exactly once."""
    found = {}
    for entry in record.get("contracts", []):
        name = entry.get("contract")
        if name in CONTRACTS:
            if name in found:
                raise RecordError(f"{path} lists {name} more than once")
            address = entry.get("address_raw") or entry.get("address")
            if not address:
                raise RecordError(f"{path} lists {name} without an address")
            found[name] = address
    missing = [name for name in CONTRACTS if name not in found]
    if missing:
        raise RecordError(f"{path} lacks {', '.join(missing)}")
    return found
