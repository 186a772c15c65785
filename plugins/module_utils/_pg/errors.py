"""Exceptions raised by the PostgreSQL helpers.

They name what failed and on which identifier (database, migration file, backup id, store key) and
never carry a password, a connection string with credentials, or SQL arguments. The module edge turns
them into a failure message.
"""


class PgError(Exception):
    """Base class of every database-side error of the collection."""


class ConfigError(PgError):
    """Bad input: missing option, malformed store URL, unreadable migrations directory."""


class ConnectError(PgError):
    """The server could not be reached or refused the login."""


class MigrationFileError(PgError):
    """A migration file is malformed: bad name, duplicate version, bad encoding, unterminated quote."""


class ChecksumMismatchError(PgError):
    """An applied migration's file no longer has the text that was applied."""


class LedgerError(PgError):
    """The ledger and the migrations directory disagree (unknown or out-of-order versions)."""


class LockTimeoutError(PgError):
    """Another migrator held the advisory lock past the deadline."""


class MigrationFailedError(PgError):
    """A migration statement failed; carries the file, its line and what was rolled back."""

    def __init__(self, filename, line, message, rolled_back, applied_before=()):
        self.filename = filename
        self.line = line
        self.rolled_back = rolled_back
        self.applied_before = list(applied_before)
        super().__init__(message)


class VerificationQueryError(PgError):
    """A post-migration verification query did not return true."""


class StoreError(PgError):
    """The backup store could not be read or written."""


class BackupError(PgError):
    """A backup could not be taken."""


class BackupNotFoundError(PgError):
    """No backup with that id (or none at all) in the store."""


class VerifyError(PgError):
    """A backup failed its proof: checksum, completeness, restore or row counts."""


class RestoreRefusedError(PgError):
    """A restore was refused before anything was touched."""


class RestoreError(PgError):
    """A restore failed; the target database is left as it was."""


class LocalServerError(PgError):
    """The embedded local server could not be initialized, started or stopped."""
