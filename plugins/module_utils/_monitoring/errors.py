"""Exceptions of the monitoring helpers; the module edge turns them into failures."""


class MonitoringError(Exception):
    """Base class of every monitoring-side error of the collection."""


class RecordError(MonitoringError):
    """No usable deployment record: missing, unreadable, or without a contract the exporter reads."""


class ProvisionError(MonitoringError):
    """Rules or dashboards could not be written or applied."""
