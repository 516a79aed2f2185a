"""Key pairs: the private key PEM is the value; the public key PEM and JWK are published.

Ed25519 keys are made from 32 bytes of the given random source. RSA keys
come from OpenSSL's generator through `cryptography`, which takes no
random source: they are the one kind a seeded source does not reproduce.
"""

from __future__ import annotations

import base64
from typing import Any, ClassVar, Literal

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from rotator.generators._base import SYSTEM_RANDOM, GeneratedSecret, Generator, RandomSource
from rotator.values import SecretValue

__all__ = ["Ed25519Generator", "RsaGenerator"]

#: Security strength in bits of RSA moduli (NIST SP 800-57 part 1, table 2; 4096 by its formula).
_RSA_STRENGTH = {2048: 112.0, 3072: 128.0, 4096: 152.0}


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _uint(number: int) -> str:
    return _b64url(number.to_bytes((number.bit_length() + 7) // 8, "big"))


def _private_pem(key: ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


def _public_pem(key: ed25519.Ed25519PublicKey | rsa.RSAPublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


class Ed25519Generator(Generator):
    """An Ed25519 signing key pair (JWK ``OKP``/``Ed25519``, ``alg: EdDSA``)."""

    kind: Literal["ed25519"] = "ed25519"
    has_public_material: ClassVar[bool] = True

    def generate(self, random: RandomSource = SYSTEM_RANDOM) -> GeneratedSecret:
        private = ed25519.Ed25519PrivateKey.from_private_bytes(random.token_bytes(32))
        public = private.public_key()
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        jwk: dict[str, Any] = {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": _b64url(raw),
            "alg": "EdDSA",
            "use": "sig",
        }
        return GeneratedSecret(
            SecretValue(_private_pem(private)),
            {"public_key_pem": _public_pem(public), "public_jwk": jwk},
        )

    def entropy_bits(self) -> float:
        return 128.0  # the security strength of Ed25519 (32 random bytes make the key)


class RsaGenerator(Generator):
    """An RSA key pair with exponent 65537 (JWK ``RSA``, ``alg: RS256``)."""

    kind: Literal["rsa"] = "rsa"
    bits: Literal[2048, 3072, 4096] = 3072
    has_public_material: ClassVar[bool] = True

    def generate(self, random: RandomSource = SYSTEM_RANDOM) -> GeneratedSecret:
        private = rsa.generate_private_key(public_exponent=65537, key_size=self.bits)
        public = private.public_key()
        numbers = public.public_numbers()
        jwk: dict[str, Any] = {
            "kty": "RSA",
            "n": _uint(numbers.n),
            "e": _uint(numbers.e),
            "alg": "RS256",
            "use": "sig",
        }
        return GeneratedSecret(
            SecretValue(_private_pem(private)),
            {"public_key_pem": _public_pem(public), "public_jwk": jwk},
        )

    def entropy_bits(self) -> float:
        return _RSA_STRENGTH[self.bits]
