"""Right-sized funding: what each contract needs to pay for its deploy and its storage.

The network's storage prices come from config parameter 18; a contract's footprint (bits and cells)
and its deploy fees come from emulating the real deploy on a throwaway copy of the chain.
"""

import math

# Importable without the chain libraries, for ansible-test's import check; common.py finds them missing
# and every module fails with that message before any code here runs.
try:
    from pytoniq_core import HashMap
except ImportError:
    pass

SECONDS_PER_DAY = 86400
# Storage prices are quoted per 2^16 seconds.
PRICE_UNIT_SECONDS = 1 << 16
# Amounts are rounded up to a thousandth of a TON so plans read cleanly.
ROUND_TO = 1_000_000


class StoragePrices:
    def __init__(self, bit_price_ps, cell_price_ps, since):
        self.bit_price_ps = bit_price_ps
        self.cell_price_ps = cell_price_ps
        self.since = since

    def fee(self, bits, cells, seconds):
        """Nanotons a basechain account of this size owes for `seconds` of storage."""
        return math.ceil((bits * self.bit_price_ps + cells * self.cell_price_ps) * seconds / PRICE_UNIT_SECONDS)


def storage_prices(config_cell, now):
    """The basechain storage prices in force at `now` (config parameter 18)."""
    params = HashMap.parse(config_cell.begin_parse(), 32, value_deserializer=lambda s: s.load_ref())
    entries = HashMap.parse(
        params[18].begin_parse(), 32,
        value_deserializer=lambda s: (s.load_uint(8), s.load_uint(32), s.load_uint(64), s.load_uint(64)),
    )
    in_force = [e for e in entries.values() if e[1] <= now] or list(entries.values())
    since, bit_price, cell_price = max(in_force, key=lambda e: e[1])[1:]
    return StoragePrices(bit_price, cell_price, since)


def size_value(deploy_fees, bits, cells, prices, horizon_days, margin_pct):
    """Value a deploy message must carry: its fees, plus storage over the horizon, plus the margin."""
    storage = prices.fee(bits, cells, horizon_days * SECONDS_PER_DAY)
    needed = (deploy_fees + storage) * (100 + margin_pct) / 100
    return int(math.ceil(needed / ROUND_TO) * ROUND_TO), storage
