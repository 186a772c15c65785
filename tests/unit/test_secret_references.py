"""Secret references, key selection, masking forms and the rotation arithmetic."""

import datetime

import pytest

from ansible_collections.tonsurance.deploy.plugins.module_utils._secrets import reference, rotation, values
from ansible_collections.tonsurance.deploy.plugins.module_utils._secrets.errors import (
    SecretConfigError, SecretNotFoundError)


def parse(term, **options):
    return reference.parse(term, options)


def test_plain_name_takes_the_backend_option():
    ref = parse("tonsurance/testnet/deployer-mnemonic", backend="aws")
    assert (ref.backend, ref.location) == ("aws", "tonsurance/testnet/deployer-mnemonic")
    assert ref.describe() == "aws secret tonsurance/testnet/deployer-mnemonic"


@pytest.mark.parametrize("path", ["tonsurance/db", "secret/data/tonsurance/db", "/secret/data/tonsurance/db/",
                                  "v1/secret/data/tonsurance/db"])
def test_vault_path_pasted_with_its_api_prefix_resolves(path):
    ref = parse({"backend": "vault", "path": path})
    assert (ref.mount_point, ref.location) == ("secret", "tonsurance/db")


def test_vault_api_path_names_its_mount_when_none_is_given():
    ref = parse({"backend": "vault", "path": "kv/data/app/db"})
    assert (ref.mount_point, ref.location) == ("kv", "app/db")


def test_vault_explicit_mount_wins_over_a_lookalike_path():
    ref = parse({"backend": "vault", "path": "app/data/x", "mount_point": "secret"})
    assert (ref.mount_point, ref.location) == ("secret", "app/data/x")


def test_vault_metadata_path_fails_clearly():
    with pytest.raises(SecretConfigError, match="metadata path"):
        parse({"backend": "vault", "path": "secret/metadata/tonsurance/db"})


def test_vault_version_must_be_a_positive_integer():
    with pytest.raises(SecretConfigError, match="version"):
        parse({"backend": "vault", "path": "a", "version": "latest"})
    assert parse({"backend": "vault", "path": "a", "version": "3"}).version == 3


def test_reference_refuses_credentials():
    with pytest.raises(SecretConfigError, match="credential"):
        parse({"backend": "vault", "path": "a", "vault_token": "x"})


def test_reference_refuses_unknown_fields_and_kinds():
    with pytest.raises(SecretConfigError, match="unknown field"):
        parse({"backend": "aws", "name": "a", "colour": "red"})
    with pytest.raises(SecretConfigError, match="kind"):
        parse({"backend": "aws", "name": "a", "kind": "mnemonic"})


def test_aws_version_id_and_stage_are_exclusive():
    with pytest.raises(SecretConfigError, match="not both"):
        parse({"backend": "aws", "name": "a", "version_id": "v", "version_stage": "AWSPREVIOUS"})


def test_aws_identity_ignores_arn_suffix_region_and_key():
    arn = parse({"backend": "aws", "name": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:tonsurance/x-AbC123",
                 "key": "a"})
    name = parse({"backend": "aws", "name": "tonsurance/x", "region": "us-east-1"})
    assert arn.identity() == name.identity()


def test_vault_identity_depends_on_namespace():
    a = parse({"backend": "vault", "path": "t/x", "namespace": "mainnet"})
    b = parse({"backend": "vault", "path": "t/x", "namespace": "testnet"})
    assert a.identity() != b.identity()


def test_select_walks_nested_keys_lists_and_dotted_keys():
    ref = parse({"backend": "aws", "name": "a", "key": "db.hosts.1"})
    assert values.select('{"db": {"hosts": ["a", "b"]}}', ref) == "b"
    dotted = parse({"backend": "aws", "name": "a", "key": ["api.key"]})
    assert values.select({"api.key": "v"}, dotted) == "v"


def test_select_names_the_missing_key_but_never_the_value():
    ref = parse({"backend": "aws", "name": "a", "key": "db.password"})
    with pytest.raises(SecretNotFoundError, match="has no key db.password") as error:
        values.select('{"db": {"user": "hidden-marker"}}', ref)
    assert "hidden-marker" not in str(error.value)
    with pytest.raises(SecretConfigError, match="not a JSON object") as error:
        values.select("hidden-marker", ref)
    assert "hidden-marker" not in str(error.value)


def test_binary_decoding():
    ref = parse({"backend": "aws", "name": "a"})
    assert values.decode_binary(b"\x00\xff", ref) == "AP8="
    text = parse({"backend": "aws", "name": "a", "binary": "text"})
    assert values.decode_binary("abc".encode(), text) == "abc"
    with pytest.raises(SecretConfigError, match="not UTF-8"):
        values.decode_binary(b"\xff\xfe", text)


def test_mask_forms_cover_rejoined_words_but_not_single_words():
    forms = values.mask_forms("alpha beta  gamma\n")
    assert {"alpha beta  gamma\n", "alpha beta gamma", "alpha,beta,gamma", '["alpha", "beta", "gamma"]',
            "['alpha', 'beta', 'gamma']", "alpha\nbeta\ngamma"} <= forms
    assert "alpha" not in forms
    assert values.mask_forms({"a": ["x1", None, True]}) == {"x1"}


NOW = datetime.datetime(2026, 1, 31, tzinfo=datetime.timezone.utc)


def test_rotation_judges_against_the_kind_limit():
    limits = rotation.limits({"api_key": 60})
    assert limits["wallet"] == 30 and limits["api_key"] == 60
    assert rotation.judge(NOW - datetime.timedelta(days=31), 30, NOW, 7)[0] == "overdue"
    assert rotation.judge(NOW - datetime.timedelta(days=25), 30, NOW, 7)[0] == "due_soon"
    status, age, due = rotation.judge(NOW - datetime.timedelta(days=2), 30, NOW, 7)
    assert status == "ok" and round(age) == 2 and due == NOW + datetime.timedelta(days=28)
    assert rotation.judge(None, 30, NOW, 7) == ("unknown", None, None)


def test_rotation_needs_a_kind_or_a_limit():
    with pytest.raises(SecretConfigError, match="no kind"):
        rotation.max_age(parse({"backend": "aws", "name": "a"}), rotation.limits({}))
    assert rotation.max_age(parse({"backend": "aws", "name": "a", "max_age_days": 5}), {}) == 5


def test_as_of_accepts_dates_and_refuses_words():
    assert rotation.parse_time("2026-03-01") == datetime.datetime(2026, 3, 1, tzinfo=datetime.timezone.utc)
    assert rotation.parse_time("2026-03-01T10:00:00Z").hour == 10
    with pytest.raises(SecretConfigError):
        rotation.parse_time("next tuesday")
