"""Shared test data: a fixed admin and keeper and the six tranches of the vault."""

ADMIN = "0:" + "a1" * 32
KEEPER = "0:" + "b2" * 32
TRANCHES = [
    {"id": 1, "symbol": "SURE-BTC", "apy_min_bps": 400, "apy_max_bps": 400, "curve": 0, "allocation_bps": 2500},
    {"id": 2, "symbol": "SURE-SNR", "apy_min_bps": 650, "apy_max_bps": 800, "curve": 1, "allocation_bps": 2000},
    {"id": 3, "symbol": "SURE-MEZZ", "apy_min_bps": 900, "apy_max_bps": 1500, "curve": 2, "allocation_bps": 1800},
    {"id": 4, "symbol": "SURE-JNR", "apy_min_bps": 1250, "apy_max_bps": 1600, "curve": 3, "allocation_bps": 1500},
    {"id": 5, "symbol": "SURE-JNR+", "apy_min_bps": 1600, "apy_max_bps": 2200, "curve": 4, "allocation_bps": 1200},
    {"id": 6, "symbol": "SURE-EQT", "apy_min_bps": 1500, "apy_max_bps": 2500, "curve": 5, "allocation_bps": 1000},
]
