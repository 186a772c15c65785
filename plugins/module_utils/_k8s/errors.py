"""Exceptions raised by the Kubernetes helpers.

They name the namespace, the object and the step an operator needs, and never carry a Secret's
data, a token or a kubeconfig. The module edge turns them into a failure message.
"""


class K8sError(Exception):
    """Base class of every cluster-side error of the collection."""


class ConfigError(K8sError):
    """Bad input: malformed manifest, unreadable kubeconfig, impossible step list."""


class ClusterError(K8sError):
    """The Kubernetes API refused or could not answer a call."""

    def __init__(self, action, target, reason, status=None):
        self.action = action
        self.target = target
        self.reason = reason
        self.status = status
        code = f" (HTTP {status})" if status else ""
        super().__init__(f"failed to {action} {target}{code}: {reason}")


class WaitTimeoutError(K8sError):
    """A Deployment did not reach the wanted state before the deadline."""


class RolloutStuckError(K8sError):
    """The Deployment controller gave up on a rollout (progress deadline exceeded)."""


class GateError(K8sError):
    """Prometheus could not be asked, or did not answer a query."""


class RolloutAbortedError(K8sError):
    """A gradual rollout was stopped and every pod was returned to the previous image."""

    def __init__(self, message, step, measured=None, reasons=None, rolled_back_to=None, history=None):
        self.step = step
        self.measured = measured or {}
        self.reasons = reasons or []
        self.rolled_back_to = rolled_back_to
        self.history = history or []
        super().__init__(message)
