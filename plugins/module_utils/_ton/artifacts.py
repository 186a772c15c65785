"""Compiled contract artifacts: contracts/build/<Name>.json, committed so no Node is needed to deploy."""

import base64
import json
import os

# Importable without the chain libraries, for ansible-test's import check; common.py finds them missing
# and every module fails with that message before any code here runs.
try:
    from pytoniq_core import Cell
except ImportError:
    pass

from .errors import ConfigError


class Artifact:
    def __init__(self, name, code, code_hash):
        self.name = name
        self.code = code
        self.code_hash = code_hash


def load(artifacts_dir, name):
    path = os.path.join(artifacts_dir, f"{name}.json")
    try:
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
    except OSError as exc:
        raise ConfigError(f"contract artifact {name} not found at {path}") from exc
    except ValueError as exc:
        raise ConfigError(f"contract artifact {path} is not valid JSON") from exc
    try:
        code = Cell.one_from_boc(base64.b64decode(document["code_boc_base64"]))
    except Exception as exc:
        raise ConfigError(f"contract artifact {path} holds no readable code BoC") from exc
    code_hash = code.hash.hex()
    if code_hash != document.get("code_hash_hex"):
        raise ConfigError(
            f"contract artifact {path} is inconsistent: code hashes to {code_hash}, "
            f"file says {document.get('code_hash_hex')}"
        )
    return Artifact(name, code, code_hash)
