"""rotator.client's pure parts: keyrings, signatures, framework settings, webhook signatures."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from cryptography.fernet import Fernet, InvalidToken

from rotator.client import Keyring, check_api_key, sign_webhook, verify_webhook
from rotator.generators import parse_generator


def ring_of(*values: str, jwks: bool = False) -> Keyring:
    keys = [
        {
            "kid": f"k{i}",
            "value": v,
            "created_at": "2026-01-01T00:00:00Z",
            **({"public_jwk": {"kty": "OKP", "kid": f"k{i}"}} if jwks else {}),
        }
        for i, v in enumerate(values)
    ]
    return Keyring.from_data(
        {
            "current": values[0],
            "kid": "k0",
            "keyring": keys,
            "rotated_at": "2026-01-01T00:00:00Z",
            "next_rotation_at": "2026-01-02T00:00:00Z",
        },
        version=7,
    )


def test_from_data_reads_the_design_fields() -> None:
    ring = ring_of("new", "old")
    assert ring.current.value == "new"
    assert ring.previous is not None
    assert ring.previous.value == "old"
    assert ring.version == 7
    assert ring.next_rotation_at == datetime(2026, 1, 2, tzinfo=UTC)
    assert "new" not in repr(ring)
    assert "old" not in repr(ring)


def test_a_signature_verifies_after_rotation_until_the_key_leaves_the_ring() -> None:
    before = ring_of("key-a")
    signature = before.sign(b"payload")
    assert signature.startswith("k0.")
    after = Keyring.from_data(
        {
            "current": "key-b",
            "kid": "k9",
            "keyring": [{"kid": "k9", "value": "key-b"}, {"kid": "k0", "value": "key-a"}],
        }
    )
    assert after.verify(b"payload", signature)
    assert not after.verify(b"other payload", signature)
    assert not after.verify(b"payload", signature[:-2] + "AA")
    gone = Keyring.from_data(
        {
            "current": "key-c",
            "kid": "k8",
            "keyring": [{"kid": "k8", "value": "key-c"}, {"kid": "k9", "value": "key-b"}],
        }
    )
    assert not gone.verify(b"payload", signature)
    # an unknown kid is tried against every key
    assert after.verify(b"payload", "unknown." + signature.split(".", 1)[1])
    assert not after.verify(b"payload", "garbage")


def test_framework_settings_put_the_current_key_first_and_older_ones_as_fallbacks() -> None:
    ring = ring_of("c", "b", "a")
    assert ring.flask_config() == {"SECRET_KEY": "c", "SECRET_KEY_FALLBACKS": ["b", "a"]}
    assert ring.django_settings() == {"SECRET_KEY": "c", "SECRET_KEY_FALLBACKS": ["b", "a"]}


def test_multi_fernet_decrypts_with_any_key_and_encrypts_with_the_current() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    token = Fernet(old).encrypt(b"card")
    ring = ring_of(new, old)
    assert ring.multi_fernet().decrypt(token) == b"card"
    assert Fernet(new).decrypt(ring.multi_fernet().encrypt(b"x")) == b"x"
    with pytest.raises(InvalidToken):
        ring_of(new).multi_fernet().decrypt(token)


def test_jwks_lists_the_public_keys() -> None:
    assert ring_of("a", "b", jwks=True).jwks() == {
        "keys": [{"kty": "OKP", "kid": "k0"}, {"kty": "OKP", "kid": "k1"}]
    }


def test_api_key_checksums_are_checked_offline() -> None:
    key = parse_generator({"kind": "api_key", "prefix": "sk_"}).generate().value.reveal()
    assert check_api_key(key, prefix="sk_")
    assert not check_api_key(key.replace(key[5], "0" if key[5] != "0" else "1", 1))


def test_webhook_signatures_and_their_age() -> None:
    body = b'{"event":"rotation.succeeded"}'
    signature = sign_webhook(body, 1_000, "hook-key")
    assert verify_webhook(body, "1000", signature, "hook-key", now=1_100)
    assert not verify_webhook(body, "1000", signature, "other-key", now=1_100)
    assert not verify_webhook(body + b" ", "1000", signature, "hook-key", now=1_100)
    assert not verify_webhook(body, "1000", signature, "hook-key", now=2_000)  # too old
    assert not verify_webhook(body, "soon", signature, "hook-key", now=1_000)
