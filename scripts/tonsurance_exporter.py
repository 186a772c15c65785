"""Serve the Tonsurance contracts' on-chain state as Prometheus metrics, or print one scrape (--once).

Runs from a checkout (after `make setup`) or from an installed collection; see docs/monitoring.md.
"""

import os
import sys


def collections_root():
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parts = here.split(os.sep)
    if len(parts) > 3 and parts[-3] == "ansible_collections":
        return os.sep.join(parts[:-3])  # installed: <root>/ansible_collections/tonsurance/deploy
    return os.path.join(here, ".collections")  # a checkout, linked by `make setup`


if __name__ == "__main__":
    sys.path.insert(0, collections_root())
    from ansible_collections.tonsurance.deploy.plugins.module_utils._monitoring.exporter import main

    sys.exit(main())
