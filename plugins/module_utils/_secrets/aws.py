"""AWS Secrets Manager through boto3: values (string or binary, by stage or version) and ages."""

import re

from . import cache
from .errors import (SecretAuthError, SecretBackendError, SecretConfigError, SecretDeniedError,
                     SecretNotFoundError)

try:
    import boto3
    import botocore.config
    import botocore.exceptions
    HAS_BOTO3 = True
except ImportError:
    HAS_BOTO3 = False

PLAIN = ("aws_region", "aws_profile", "aws_endpoint_url", "aws_access_key_id", "timeout")
SECRET = ("aws_secret_access_key", "aws_session_token")

DENIED = {"AccessDeniedException", "AccessDenied", "DecryptionFailure", "KMSAccessDeniedException"}
AUTH = {"UnrecognizedClientException", "InvalidClientTokenId", "ExpiredTokenException", "ExpiredToken",
        "InvalidSignatureException", "SignatureDoesNotMatch", "IncompleteSignature",
        "MissingAuthenticationToken", "AuthFailure"}
_XML_CODE = re.compile(r"<Code>([A-Za-z]+)</Code>")


def _code(error):
    """The error code, also when a server wraps a query-protocol error into a JSON reply."""
    detail = error.response.get("Error", {})
    code = str(detail.get("Code", ""))
    if not code or code.isdigit():
        found = _XML_CODE.search(str(detail.get("Message", "")))
        if found:
            return found.group(1)
    return code


def _translate(error, where, action):
    if isinstance(error, botocore.exceptions.ClientError):
        code = _code(error)
        message = str(error.response.get("Error", {}).get("Message", "")).lower()
        if code == "ResourceNotFoundException":
            return SecretNotFoundError(where, "does not exist (or has no such version or stage)")
        if code == "InvalidRequestException" and ("deleted" in message or "deletion" in message):
            return SecretNotFoundError(where, "is scheduled for deletion")
        if code in DENIED:
            return SecretDeniedError(where, f"access denied to {action} ({code})")
        if code in AUTH:
            return SecretAuthError(where, f"AWS refused the credentials ({code}); they are invalid or expired")
        return SecretBackendError(where, f"failed to {action}: {code or 'unknown error'}")
    if isinstance(error, botocore.exceptions.NoCredentialsError):
        return SecretAuthError(where, "no AWS credentials found (environment, profile or instance role)")
    if isinstance(error, botocore.exceptions.NoRegionError):
        return SecretConfigError(where, "no AWS region; set aws_region (or AWS_REGION)")
    if isinstance(error, botocore.exceptions.ProfileNotFound):
        return SecretConfigError(where, "the AWS profile does not exist")
    if isinstance(error, (botocore.exceptions.EndpointConnectionError, botocore.exceptions.ConnectTimeoutError,
                          botocore.exceptions.ReadTimeoutError)):
        return SecretBackendError(where, f"failed to {action}: cannot reach Secrets Manager")
    return SecretBackendError(where, f"failed to {action}: {type(error).__name__}")


def client(conn):
    if not HAS_BOTO3:
        raise SecretConfigError("aws backend", "needs boto3 on the Python that runs the lookup or module")
    cache_key = cache.key("aws", conn, PLAIN, SECRET)
    found = cache.get(cache_key)
    if found is not None:
        return found
    where = f"aws secrets manager{' at ' + conn['aws_endpoint_url'] if conn.get('aws_endpoint_url') else ''}"
    timeout = conn.get("timeout") or 30
    try:
        session = boto3.session.Session(
            profile_name=conn.get("aws_profile") or None,
            region_name=conn.get("aws_region") or None,
            aws_access_key_id=conn.get("aws_access_key_id") or None,
            aws_secret_access_key=conn.get("aws_secret_access_key") or None,
            aws_session_token=conn.get("aws_session_token") or None,
        )
        made = session.client(
            "secretsmanager",
            endpoint_url=conn.get("aws_endpoint_url") or None,
            config=botocore.config.Config(connect_timeout=timeout, read_timeout=timeout,
                                          retries={"max_attempts": 3, "mode": "standard"}),
        )
    except Exception as exc:  # boto3 raises many kinds; each becomes one of ours
        raise _translate(exc, where, "create a Secrets Manager client") from None
    return cache.put(cache_key, made)


def read(ref, conn):
    """The raw value: str for SecretString, bytes for SecretBinary."""
    where = ref.describe()
    args = dict(SecretId=ref.location)
    if ref.version_id:
        args["VersionId"] = ref.version_id
    elif ref.version_stage:
        args["VersionStage"] = ref.version_stage
    try:
        answer = client(conn).get_secret_value(**args)
    except (SecretConfigError, SecretAuthError, SecretBackendError):
        raise
    except Exception as exc:
        raise _translate(exc, where, "read the secret value") from None
    if answer.get("SecretString") is not None:
        return answer["SecretString"]
    if answer.get("SecretBinary") is not None:
        return bytes(answer["SecretBinary"])
    raise SecretNotFoundError(where, "has neither a string nor a binary value")


def last_changed(ref, conn):
    """When the value in use was written: the creation date of the version the reference picks."""
    where = ref.describe()
    try:
        described = client(conn).describe_secret(SecretId=ref.location)
        if described.get("DeletedDate"):
            raise SecretNotFoundError(where, "is scheduled for deletion")
        stage = ref.version_stage or "AWSCURRENT"
        created = None
        args = dict(SecretId=ref.location)
        while True:
            page = client(conn).list_secret_version_ids(**args)
            for version in page.get("Versions", []):
                if (ref.version_id and version.get("VersionId") == ref.version_id) or (
                        not ref.version_id and stage in version.get("VersionStages", [])):
                    created = version.get("CreatedDate")
            if not page.get("NextToken"):
                break
            args["NextToken"] = page["NextToken"]
    except (SecretNotFoundError, SecretConfigError, SecretAuthError, SecretBackendError):
        raise
    except Exception as exc:
        raise _translate(exc, where, "read the secret's metadata") from None
    if created is not None:
        return created, "version created"
    if ref.version_id or ref.version_stage:
        raise SecretNotFoundError(where, "has no such version or stage")
    if described.get("LastChangedDate") is not None:
        return described["LastChangedDate"], "secret last changed"
    return described.get("CreatedDate"), "secret created"
