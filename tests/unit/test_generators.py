"""Every generator kind: format, constraints, uniformity, entropy, and no leak in a repr."""

from __future__ import annotations

import base64
import itertools
import math
import string
import uuid
from collections import Counter
from collections.abc import Iterable

import pytest
from cryptography.fernet import Fernet, MultiFernet
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from rotator.generators import (
    AMBIGUOUS,
    DEFAULT_SYMBOLS,
    GENERATOR_KINDS,
    Generator,
    check_api_key,
    parse_generator,
    word_list,
)
from tests.support.seeded import SeededRandom


def chi_square(counts: Iterable[int], expected: float) -> float:
    return sum((observed - expected) ** 2 / expected for observed in counts)


def generous_bound(categories: int) -> float:
    """About seven standard deviations above the mean of a chi-square with k-1 degrees."""
    df = categories - 1
    return df + 7 * math.sqrt(2 * df)


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# -- every kind ------------------------------------------------------------

STRONG_DEFAULTS = {
    "token": 256,
    "hmac_key": 256,
    "session_key": 256,
    "api_key": 192,
    "passphrase": 77.5,
    "fernet_key": 256,
    "uuid4": 122,
    "ed25519": 128,
    "rsa": 128,
}


@pytest.mark.parametrize("kind", sorted(GENERATOR_KINDS))
def test_every_kind_reports_entropy_and_hides_its_value(kind: str) -> None:
    params: dict[str, object] = {"kind": kind}
    if kind == "numeric_code":
        params["allow_weak"] = True
    if kind == "rsa":
        params["bits"] = 2048
    generator = parse_generator(params)
    generated = generator.generate()
    text = generated.value.reveal()
    assert text
    assert text not in repr(generated)
    assert text not in repr(generated.value)
    assert text not in str(generated.value)
    assert text not in repr(generator)
    bits = generator.entropy_bits()
    if kind in STRONG_DEFAULTS and kind != "rsa":
        assert bits == pytest.approx(STRONG_DEFAULTS[kind], abs=0.1)


# -- api_key ---------------------------------------------------------------


def test_api_key_has_prefix_base62_body_and_a_checksum_that_catches_typos() -> None:
    generator = parse_generator({"kind": "api_key", "prefix": "sk_live_", "bytes": 24})
    for _ in range(200):
        key = generator.generate().value.reveal()
        assert key.startswith("sk_live_")
        body = key[len("sk_live_") :]
        assert len(body) == 33 + 6  # ceil(192 / log2 62) digits, then the checksum
        assert set(body) <= set(string.ascii_letters + string.digits)
        assert check_api_key(key, prefix="sk_live_")
        assert not check_api_key(key, prefix="pk_live_")
        position = 8 + (len(key) - 8) // 2
        typo = key[:position] + ("a" if key[position] != "a" else "b") + key[position + 1 :]
        assert not check_api_key(typo)
        assert not check_api_key(key[:-1])


def test_api_key_without_checksum_and_other_encodings() -> None:
    plain = parse_generator({"kind": "api_key", "checksum": False, "encoding": "hex", "bytes": 16})
    key = plain.generate().value.reveal()
    assert len(key) == 32
    assert bytes.fromhex(key)


# -- password --------------------------------------------------------------


def classes_of(text: str) -> Counter[str]:
    counts: Counter[str] = Counter()
    for char in text:
        if char in string.ascii_lowercase:
            counts["lower"] += 1
        elif char in string.ascii_uppercase:
            counts["upper"] += 1
        elif char in string.digits:
            counts["digits"] += 1
        else:
            counts["other"] += 1
    return counts


def test_password_meets_length_minimums_and_exclusions_every_time() -> None:
    generator = parse_generator(
        {
            "kind": "password",
            "length": 16,
            "lower": 2,
            "upper": 3,
            "digits": 4,
            "symbols": 1,
            "exclude": "xyz$",
            "exclude_ambiguous": True,
        }
    )
    for _ in range(2000):
        text = generator.generate().value.reveal()
        assert len(text) == 16
        counts = classes_of(text)
        assert counts["lower"] >= 2
        assert counts["upper"] >= 3
        assert counts["digits"] >= 4
        assert counts["other"] >= 1
        assert not set(text) & set("xyz$" + AMBIGUOUS)
        assert set(text) <= set(string.ascii_letters + string.digits + DEFAULT_SYMBOLS)


def test_a_class_set_to_false_is_never_used() -> None:
    generator = parse_generator({"kind": "password", "length": 30, "symbols": False, "upper": None})
    for _ in range(300):
        text = generator.generate().value.reveal()
        assert set(text) <= set(string.ascii_lowercase + string.digits)


def test_password_is_exactly_uniform_over_every_valid_password() -> None:
    # Alphabet {a, b} and {0, 1}, length 3, at least one of each: 64 - 8 - 8 = 48 passwords.
    generator = parse_generator(
        {
            "kind": "password",
            "length": 3,
            "lower": 1,
            "digits": 1,
            "upper": False,
            "symbols": False,
            "exclude": "cdefghijklmnopqrstuvwxyz23456789",
            "allow_weak": True,
        }
    )
    valid = [
        "".join(p)
        for p in itertools.product("ab01", repeat=3)
        if set(p) & set("ab") and set(p) & set("01")
    ]
    assert len(valid) == 48
    assert generator.entropy_bits() == pytest.approx(math.log2(48))
    source = SeededRandom(2026)
    draws = 48 * 400
    counts = Counter(generator.generate(source).value.reveal() for _ in range(draws))
    assert set(counts) == set(valid)
    assert chi_square(counts.values(), draws / 48) < generous_bound(48)


def test_password_characters_are_uniform_within_classes_and_positions_are_free() -> None:
    generator = parse_generator(
        {"kind": "password", "length": 12, "lower": 1, "upper": 1, "digits": 1, "symbols": 1}
    )
    source = SeededRandom(7)
    samples = [generator.generate(source).value.reveal() for _ in range(6000)]
    chars = Counter(itertools.chain.from_iterable(samples))
    for alphabet in (
        string.ascii_lowercase,
        string.ascii_uppercase,
        string.digits,
        DEFAULT_SYMBOLS,
    ):
        observed = [chars[c] for c in alphabet]
        assert chi_square(observed, sum(observed) / len(alphabet)) < generous_bound(len(alphabet))
    # No class owns a position: the class mix at every position is the same.
    per_position = [
        Counter(classes_of(s[i]).most_common(1)[0][0] for s in samples) for i in range(12)
    ]
    for kind in ("lower", "upper", "digits", "other"):
        observed = [position[kind] for position in per_position]
        assert chi_square(observed, sum(observed) / 12) < generous_bound(12)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"length": 4, "lower": 2, "upper": 2, "digits": 1, "allow_weak": True},
            "the class minimums add up to 6, more than length 4",
        ),
        ({"digits": 2, "exclude": string.digits}, "class digits requires 2 character(s)"),
        (
            {
                "lower": 0,
                "upper": None,
                "digits": None,
                "symbols": None,
                "exclude": string.ascii_lowercase,
            },
            "no characters are left",
        ),
        ({"length": 8}, "under the 64-bit minimum"),
        ({"length": 0}, "length"),
        ({"lower": -1}, "lower"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_impossible_or_weak_passwords_are_refused_naming_the_parameter(
    params: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError) as info:
        parse_generator({"kind": "password", **params})
    assert message in str(info.value)


@settings(max_examples=150, deadline=None)
@given(
    length=st.integers(1, 40),
    mins=st.lists(st.one_of(st.none(), st.integers(0, 6)), min_size=4, max_size=4),
    exclude=st.text(alphabet=string.ascii_letters + string.digits + DEFAULT_SYMBOLS, max_size=30),
    ambiguous=st.booleans(),
)
def test_password_policies_either_generate_valid_values_or_are_refused(
    length: int, mins: list[int | None], exclude: str, ambiguous: bool
) -> None:
    names = ("lower", "upper", "digits", "symbols")
    alphabets = (string.ascii_lowercase, string.ascii_uppercase, string.digits, DEFAULT_SYMBOLS)
    params = {
        "kind": "password",
        "length": length,
        "exclude": exclude,
        "exclude_ambiguous": ambiguous,
        "allow_weak": True,
        **dict(zip(names, mins, strict=True)),
    }
    removed = set(exclude) | (set(AMBIGUOUS) if ambiguous else set())
    pools = {n: set(a) - removed for n, a in zip(names, alphabets, strict=True)}
    used = {n: m for n, m in zip(names, mins, strict=True) if m is not None and pools[n]}
    impossible = (
        any(m is not None and m > 0 and not pools[n] for n, m in zip(names, mins, strict=True))
        or not used
        or sum(used.values()) > length
    )
    if impossible:
        with pytest.raises(ValidationError) as info:
            parse_generator(params)
        assert "password" in str(info.value)
        return
    generator = parse_generator(params)
    source = SeededRandom(length)
    for _ in range(5):
        text = generator.generate(source).value.reveal()
        assert len(text) == length
        assert set(text) <= set().union(*(pools[n] for n in used))
        for name, minimum in used.items():
            assert sum(c in pools[name] for c in text) >= minimum


# -- passphrase ------------------------------------------------------------


def test_the_word_list_is_the_eff_large_list() -> None:
    words = word_list()
    assert len(words) == 7776
    assert len(set(words)) == 7776
    assert words[0] == "abacus"


def test_passphrase_words_separator_capitals_and_digit() -> None:
    generator = parse_generator(
        {"kind": "passphrase", "words": 5, "separator": " ", "capitalize": True, "digit": True}
    )
    words = set(word_list())
    for _ in range(200):
        parts = generator.generate().value.reveal().split(" ")
        assert len(parts) == 5
        with_digit = [p for p in parts if p[-1].isdigit()]
        assert len(with_digit) == 1
        for part in parts:
            bare = part.rstrip(string.digits)
            assert bare[0].isupper()
            assert bare.lower() in words
    assert generator.entropy_bits() == pytest.approx(5 * math.log2(7776) + math.log2(50))
    with pytest.raises(ValidationError, match="under the 64-bit minimum"):
        parse_generator({"kind": "passphrase", "words": 4})


# -- numeric_code ----------------------------------------------------------


def test_numeric_codes_keep_leading_zeros_and_are_uniform() -> None:
    generator = parse_generator({"kind": "numeric_code", "digits": 6, "allow_weak": True})
    source = SeededRandom(11)
    codes = [generator.generate(source).value.reveal() for _ in range(20000)]
    assert all(len(code) == 6 and code.isdigit() for code in codes)
    first = Counter(code[0] for code in codes)
    assert first["0"] > 1500  # a tenth of the codes start with 0, and keep it
    assert chi_square([first[d] for d in string.digits], 2000) < generous_bound(10)
    every = Counter(itertools.chain.from_iterable(codes))
    assert chi_square([every[d] for d in string.digits], 12000) < generous_bound(10)
    assert generator.entropy_bits() == pytest.approx(6 * math.log2(10))


def test_long_numeric_codes_need_no_allow_weak() -> None:
    code = parse_generator({"kind": "numeric_code", "digits": 20}).generate().value.reveal()
    assert len(code) == 20


# -- fernet_key, uuid4 -----------------------------------------------------


def test_fernet_keys_encrypt_and_decrypt_and_rotate_with_multifernet() -> None:
    generator = parse_generator({"kind": "fernet_key"})
    old, new = (Fernet(generator.generate().value.reveal()) for _ in range(2))
    token = old.encrypt(b"payload")
    assert MultiFernet([new, old]).decrypt(token) == b"payload"
    assert len(b64url_decode(generator.generate().value.reveal())) == 32


def test_uuid4_values_are_version_4() -> None:
    generator = parse_generator({"kind": "uuid4"})
    for _ in range(100):
        value = uuid.UUID(generator.generate().value.reveal())
        assert value.version == 4
        assert value.variant == uuid.RFC_4122


# -- key pairs -------------------------------------------------------------


def test_ed25519_keys_sign_and_verify_and_the_jwk_matches_the_pem() -> None:
    generated = parse_generator({"kind": "ed25519"}).generate()
    private = serialization.load_pem_private_key(generated.value.reveal().encode(), None)
    assert isinstance(private, ed25519.Ed25519PrivateKey)
    public = serialization.load_pem_public_key(generated.public["public_key_pem"].encode())
    assert isinstance(public, ed25519.Ed25519PublicKey)
    public.verify(private.sign(b"message"), b"message")
    jwk = generated.public["public_jwk"]
    assert jwk["kty"] == "OKP"
    assert jwk["crv"] == "Ed25519"
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert b64url_decode(jwk["x"]) == raw


def test_ed25519_keys_come_from_the_given_random_source() -> None:
    one = parse_generator({"kind": "ed25519"}).generate(SeededRandom(1)).value
    two = parse_generator({"kind": "ed25519"}).generate(SeededRandom(1)).value
    assert one == two


@pytest.mark.parametrize("bits", [2048, 3072])
def test_rsa_keys_sign_and_verify_and_the_jwk_matches_the_pem(bits: int) -> None:
    generated = parse_generator({"kind": "rsa", "bits": bits}).generate()
    private = serialization.load_pem_private_key(generated.value.reveal().encode(), None)
    assert isinstance(private, rsa.RSAPrivateKey)
    assert private.key_size == bits
    public = serialization.load_pem_public_key(generated.public["public_key_pem"].encode())
    assert isinstance(public, rsa.RSAPublicKey)
    signature = private.sign(b"m", padding.PKCS1v15(), hashes.SHA256())
    public.verify(signature, b"m", padding.PKCS1v15(), hashes.SHA256())
    jwk = generated.public["public_jwk"]
    numbers = public.public_numbers()
    assert int.from_bytes(b64url_decode(jwk["n"]), "big") == numbers.n
    assert int.from_bytes(b64url_decode(jwk["e"]), "big") == numbers.e == 65537


def test_rsa_sizes_are_limited_to_the_safe_ones() -> None:
    with pytest.raises(ValidationError, match="bits"):
        parse_generator({"kind": "rsa", "bits": 1024})


# -- byte tokens under hypothesis -------------------------------------------


@settings(max_examples=100, deadline=None)
@given(
    size=st.integers(-5, 300),
    encoding=st.sampled_from(["hex", "base64", "urlsafe", "raw-base64", "base32"]),
)
def test_token_parameters_generate_or_are_refused_naming_the_parameter(
    size: int, encoding: str
) -> None:
    params = {"kind": "token", "bytes": size, "encoding": encoding}
    if size < 1 or encoding == "base32":
        with pytest.raises(ValidationError) as info:
            parse_generator(params)
        assert ("bytes" if size < 1 else "encoding") in str(info.value)
        return
    if size < 8:
        with pytest.raises(ValidationError, match="allow_weak"):
            parse_generator(params)
        params["allow_weak"] = True
    generator: Generator = parse_generator(params)
    text = generator.generate().value.reveal()
    decoded = (
        bytes.fromhex(text)
        if encoding == "hex"
        else base64.b64decode(text + "=" * (-len(text) % 4))
        if encoding in {"base64", "raw-base64"}
        else b64url_decode(text)
    )
    assert len(decoded) == size
