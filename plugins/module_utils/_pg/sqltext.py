"""Migration text: normalization, checksum, the no-transaction marker, and statement splitting.

The splitter knows just enough PostgreSQL lexing to find top-level semicolons: line and nested block
comments, standard and escape strings, quoted identifiers, dollar quoting, and SQL-standard function
bodies (BEGIN ATOMIC ... END). Each statement keeps the file line it starts on, so a failure can be
reported as file and line.
"""

import hashlib
import re

from .errors import MigrationFileError

# First line of a file that must run outside a transaction (CREATE INDEX CONCURRENTLY and the like).
MARKER_RE = re.compile(r"^\s*--\s*tonsurance\s*:\s*no-transaction\s*$", re.IGNORECASE)
MARKER = "-- tonsurance:no-transaction"

_DOLLAR_TAG_RE = re.compile(r"\$([A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$")
_WORD_RE = re.compile(r"[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*")
_IDENT_CHARS = re.compile(r"[A-Za-z0-9_$\u0080-\uffff]")
_PLPGSQL_LINE_RE = re.compile(r"PL/pgSQL function inline_code_block line (\d+)")

TRANSACTION_CONTROL = {"begin", "commit", "rollback", "end", "abort", "start", "savepoint", "release", "prepare"}


def normalize(raw, filename="<text>"):
    """Decode UTF-8, drop a leading byte-order mark and every carriage return."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MigrationFileError(f"migration {filename} is not valid UTF-8 (byte {exc.start})") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    return text.replace("\r", "")


def checksum(text):
    """sha256 (hex) of normalized text: the ledger's checksum."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def is_non_transactional(text):
    first_line = text.split("\n", 1)[0]
    return bool(MARKER_RE.match(first_line))


class Statement:
    __slots__ = ("text", "line", "offset", "words")

    def __init__(self, text, line, offset, words):
        self.text = text
        self.line = line
        self.offset = offset
        self.words = words

    @property
    def keyword(self):
        return self.words[0] if self.words else ""

    def line_at(self, position):
        """File line of a 1-based character position inside this statement (PostgreSQL's error position)."""
        if not position or position < 1:
            return self.line
        return self.line + self.text[: position - 1].count("\n")

    def __repr__(self):
        return f"Statement(line={self.line}, {self.text[:40]!r})"


def _line_of(text, offset):
    return text.count("\n", 0, offset) + 1


def split(text, filename="<text>"):
    """Split normalized SQL into top-level statements, each with the line it starts on."""
    statements = []
    length = len(text)
    i = 0
    start = None  # offset of the current statement's first significant character
    words = []
    atomic_depth = 0

    def finish(end):
        nonlocal start, words, atomic_depth
        if start is not None:
            body = text[start:end].rstrip()
            statements.append(Statement(body, _line_of(text, start), start, tuple(words)))
        start = None
        words = []
        atomic_depth = 0

    def is_routine():
        head = [w for w in words[:4] if w not in ("or", "replace")]
        return len(head) >= 2 and head[0] == "create" and head[1] in ("function", "procedure")

    while i < length:
        ch = text[i]
        nxt = text[i + 1] if i + 1 < length else ""
        if ch in " \t\n\f\v":
            i += 1
            continue
        if ch == "-" and nxt == "-":
            newline = text.find("\n", i)
            i = length if newline < 0 else newline + 1
            continue
        if ch == "/" and nxt == "*":
            depth, j = 1, i + 2
            while j < length and depth:
                pair = text[j:j + 2]
                if pair == "/*":
                    depth, j = depth + 1, j + 2
                elif pair == "*/":
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            if depth:
                raise MigrationFileError(
                    f"migration {filename}: unterminated block comment starting at line {_line_of(text, i)}")
            i = j
            continue
        if start is None:
            start = i
        if ch == ";":
            if atomic_depth:
                i += 1
                continue
            finish(i)
            i += 1
            continue
        if ch == "'":
            escape = i > 0 and text[i - 1] in "eE" and (i < 2 or not _IDENT_CHARS.match(text[i - 2]))
            i = _skip_string(text, i, escape, filename)
            continue
        if ch == '"':
            j = i + 1
            while True:
                j = text.find('"', j)
                if j < 0:
                    raise MigrationFileError(
                        f"migration {filename}: unterminated quoted identifier at line {_line_of(text, i)}")
                if text.startswith('""', j):
                    j += 2
                    continue
                break
            i = j + 1
            continue
        if ch == "$" and (i == 0 or not _IDENT_CHARS.match(text[i - 1])):
            match = _DOLLAR_TAG_RE.match(text, i)
            if match:
                tag = match.group(0)
                close = text.find(tag, match.end())
                if close < 0:
                    raise MigrationFileError(
                        f"migration {filename}: unterminated dollar-quoted string {tag} at line {_line_of(text, i)}")
                i = close + len(tag)
                continue
        match = _WORD_RE.match(text, i)
        if match and (i == 0 or not _IDENT_CHARS.match(text[i - 1])):
            word = match.group(0).lower()
            words.append(word)
            if is_routine():
                if word == "begin" and len(words) > 2:
                    atomic_depth += 1
                elif word == "case" and atomic_depth:
                    atomic_depth += 1
                elif word == "end" and atomic_depth:
                    atomic_depth -= 1
            i = match.end()
            continue
        i += 1
    finish(length)
    return [s for s in statements if s.text]


def _skip_string(text, i, escape, filename):
    j = i + 1
    length = len(text)
    while j < length:
        ch = text[j]
        if escape and ch == "\\":
            j += 2
            continue
        if ch == "'":
            if j + 1 < length and text[j + 1] == "'":
                j += 2
                continue
            return j + 1
        j += 1
    raise MigrationFileError(f"migration {filename}: unterminated string literal at line {_line_of(text, i)}")


def transaction_control(statement):
    """True for statements that open or close transactions themselves (BEGIN, COMMIT, ...)."""
    words = statement.words
    if not words or words[0] not in TRANSACTION_CONTROL:
        return False
    if words[0] == "prepare":
        return len(words) > 1 and words[1] == "transaction"
    if words[0] == "start":
        return len(words) > 1 and words[1] == "transaction"
    return True


def error_line(statement, diag):
    """Best file line for a server error raised by `statement`."""
    position = _int(getattr(diag, "statement_position", None))
    if position:
        return statement.line_at(position)
    context = getattr(diag, "context", None) or ""
    found = _PLPGSQL_LINE_RE.search(context)
    if found and statement.keyword == "do":
        # PL/pgSQL numbers the lines of a DO block from its opening dollar quote.
        body = _DOLLAR_TAG_RE.search(statement.text)
        if body:
            return statement.line_at(body.start() + 1) + int(found.group(1)) - 1
    return statement.line


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
