"""What happens to a value once fetched: binary decoding, key selection, and the forms to mask."""

import base64
import json

from .errors import SecretConfigError, SecretNotFoundError


def decode_binary(raw, ref):
    """SecretBinary as base64 text (the default) or as UTF-8 text."""
    if ref.binary == "text":
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise SecretConfigError(ref.describe(), "holds binary data that is not UTF-8 text; "
                                                    "use binary=base64") from None
    return base64.b64encode(raw).decode("ascii")


def select(value, ref):
    """The whole value, or the part that ref.key names inside a JSON object."""
    if not ref.key:
        return value
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            # The parser's message quotes the text; say only what was expected.
            raise SecretConfigError(ref.describe(), "is not a JSON object, so it has no keys") from None
    current = value
    for depth, part in enumerate(ref.key):
        walked = ".".join(ref.key[: depth + 1])
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            raise SecretNotFoundError(ref.describe(), f"has no key {walked}")
    return current


def mask_forms(value):
    """Every string form of a value worth masking: itself, its parts, and its words re-joined.

    A mnemonic may be printed as the phrase, one word a line, or a list; each such form is masked.
    Single words are not: masking every common word would garble all output without protecting
    anything a reader could not guess anyway.
    """
    forms = set()
    if value is None or isinstance(value, bool):
        return forms
    if isinstance(value, dict):
        for item in value.values():
            forms |= mask_forms(item)
        return forms
    if isinstance(value, (list, tuple)):
        for item in value:
            forms |= mask_forms(item)
        return forms
    text = str(value)
    if not text.strip():
        return forms
    forms.update({text, text.strip()})
    words = text.split()
    if len(words) > 1:
        forms.update({" ".join(words), ",".join(words), ", ".join(words), "\n".join(words), json.dumps(words),
                      str(words)})
    return forms


def protect(module, *values):
    """Add every form of run-time secret values to an AnsibleModule's no_log_values."""
    for value in values:
        module.no_log_values.update(mask_forms(value))
