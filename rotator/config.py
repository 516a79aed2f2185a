"""The config file: loaded, expanded and validated once into frozen objects.

`load_config` reads YAML, expands ``${VAR}`` and ``${VAR:-default}`` from
the environment in every string, merges ``defaults`` into each secret and
validates the result. Every problem is reported at once, each line naming
its key (``secrets[web-session].generator.bytes: ...``), as a `ConfigError`
(exit code 2). Nothing is contacted and nothing is written while loading.
"""

from __future__ import annotations

import json
import os
import re
import zoneinfo
from collections.abc import Mapping, Sequence
from datetime import time, timedelta
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, Self

import yaml
from apscheduler.triggers.cron import CronTrigger
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from rotator.durations import parse_duration
from rotator.errors import ConfigError
from rotator.generators import GeneratorSpec

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "AppRoleAuth",
    "AuditConfig",
    "AuthConfig",
    "CommandHook",
    "Config",
    "JwtAuth",
    "KubernetesAuth",
    "RetryPolicy",
    "Schedule",
    "SchedulerConfig",
    "SecretConfig",
    "ServerConfig",
    "TLSConfig",
    "TokenAuth",
    "VaultConfig",
    "WebhookHook",
    "Window",
    "expand_env",
    "load_config",
    "parse_config",
    "validation_messages",
]

DEFAULT_CONFIG_PATH = Path("config/rotator.yaml")


def _duration(value: object) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, str | int | float):
        return parse_duration(value)
    raise ValueError(f"expected a duration such as 90s, 15m, 12h or 30d, got {value!r}")


def _positive(value: timedelta) -> timedelta:
    if value < timedelta(seconds=1):
        raise ValueError("must be at least 1s")
    return value


def _at_most_an_hour(value: timedelta) -> timedelta:
    if value > timedelta(hours=1):
        raise ValueError("must be at most 1h")
    return value


def _timezone(name: str) -> str:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r} (use an IANA name such as UTC)") from exc
    return name


_SEGMENT = re.compile(r"^[A-Za-z0-9_.@+=-]+$")


def _vault_path(value: str) -> str:
    if value != value.strip("/") or not value:
        raise ValueError("must be a path without a leading or trailing slash, such as apps/web")
    for segment in value.split("/"):
        if segment in {"", ".", ".."} or not _SEGMENT.match(segment):
            raise ValueError(
                f"segment {segment!r} is not allowed: use letters, digits and _ . @ + = -"
            )
    return value


Duration = Annotated[timedelta, BeforeValidator(_duration)]
PositiveDuration = Annotated[timedelta, BeforeValidator(_duration), AfterValidator(_positive)]
TimeZoneName = Annotated[str, AfterValidator(_timezone)]
VaultPath = Annotated[str, AfterValidator(_vault_path)]
SecretName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TLSConfig(_Model):
    ca_cert: Path | None = None
    client_cert: Path | None = None
    client_key: Path | None = None
    verify: bool = True

    @model_validator(mode="after")
    def _pair(self) -> Self:
        if (self.client_cert is None) != (self.client_key is None):
            raise ValueError("client_cert and client_key go together: set both or neither")
        return self


class TokenAuth(_Model):
    """A Vault token, given directly or in a file that is re-read when it changes."""

    method: Literal["token"] = "token"
    token: SecretStr | None = None
    token_file: Path | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if self.token is not None and self.token_file is not None:
            raise ValueError("set token or token_file, not both")
        if self.token is None and self.token_file is None:
            raise ValueError(
                "no token: set token (for example ${VAULT_TOKEN}) or token_file, "
                "or export VAULT_TOKEN"
            )
        if self.token is not None and not self.token.get_secret_value().strip():
            raise ValueError("token is empty")
        return self


class AppRoleAuth(_Model):
    """AppRole: a role id and a secret id (given, or read from a file at each login)."""

    method: Literal["approle"]
    role_id: str = Field(min_length=1)
    secret_id: SecretStr | None = None
    secret_id_file: Path | None = None
    mount: VaultPath = "approle"

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if (self.secret_id is None) == (self.secret_id_file is None):
            raise ValueError("set exactly one of secret_id or secret_id_file")
        return self


#: Where Kubernetes mounts a pod's service account token.
SERVICE_ACCOUNT_TOKEN = Path("/var/run/secrets/kubernetes.io/serviceaccount/token")


class KubernetesAuth(_Model):
    """Kubernetes: the pod's service account token, read at each login."""

    method: Literal["kubernetes"]
    role: str = Field(min_length=1)
    jwt_file: Path = SERVICE_ACCOUNT_TOKEN
    mount: VaultPath = "kubernetes"


class JwtAuth(_Model):
    """JWT/OIDC: a JWT from a file (read at each login), for a role."""

    method: Literal["jwt"]
    role: str = Field(min_length=1)
    jwt_file: Path
    mount: VaultPath = "jwt"


AuthConfig = Annotated[
    TokenAuth | AppRoleAuth | KubernetesAuth | JwtAuth, Field(discriminator="method")
]


class VaultConfig(_Model):
    address: str = "http://127.0.0.1:8200"
    namespace: str | None = None
    auth: AuthConfig
    tls: TLSConfig = TLSConfig()
    timeout: Annotated[PositiveDuration, AfterValidator(_at_most_an_hour)] = timedelta(seconds=10)

    @model_validator(mode="after")
    def _address(self) -> Self:
        if not re.match(r"^https?://[^/\s]+", self.address):
            raise ValueError(f"address {self.address!r} must start with http:// or https://")
        return self


class RetryPolicy(_Model):
    """How a failed rotation is tried again: exponential backoff with full jitter."""

    attempts: int = Field(5, ge=1, le=100)
    backoff: PositiveDuration = timedelta(seconds=2)
    max_backoff: PositiveDuration = timedelta(minutes=5)

    @model_validator(mode="after")
    def _order(self) -> Self:
        if self.max_backoff < self.backoff:
            raise ValueError("max_backoff must not be shorter than backoff")
        return self


class Schedule(_Model):
    """When a secret falls due: ``{every: 24h}`` or ``{cron: "0 3 * * 1", timezone: UTC}``."""

    every: PositiveDuration | None = None
    cron: str | None = None
    timezone: TimeZoneName = "UTC"

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if (self.every is None) == (self.cron is None):
            raise ValueError("set exactly one of every or cron")
        if self.cron is not None:
            if len(self.cron.split()) != 5:
                raise ValueError(
                    f"cron {self.cron!r} must have five fields: minute hour day month weekday"
                )
            try:
                CronTrigger.from_crontab(self.cron, timezone=zoneinfo.ZoneInfo(self.timezone))
            except ValueError as exc:
                raise ValueError(f"cron {self.cron!r} is not valid: {exc}") from exc
        return self


def _time_of_day(value: object) -> time:
    if isinstance(value, time):
        return value
    if isinstance(value, str):
        match = re.fullmatch(r"(\d{1,2}):(\d{2})", value.strip())
        if match and int(match.group(1)) < 24 and int(match.group(2)) < 60:
            return time(int(match.group(1)), int(match.group(2)))
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60:
        # YAML 1.1 reads an unquoted 02:00 as the sexagesimal number 120.
        return time(value // 60, value % 60)
    raise ValueError(f'expected a time of day such as "02:00", got {value!r}')


TimeOfDay = Annotated[time, BeforeValidator(_time_of_day)]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Window(_Model):
    """When rotations may happen: ``{start: "02:00", end: "04:00", timezone: UTC}``.

    A window whose end is before its start crosses midnight; `weekdays`
    (``mon`` .. ``sun``) names the days a window may start on.
    """

    start: TimeOfDay
    end: TimeOfDay
    timezone: TimeZoneName = "UTC"
    weekdays: tuple[Weekday, ...] | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if self.start == self.end:
            raise ValueError("start and end are the same time: the window would be empty")
        if self.weekdays is not None and not self.weekdays:
            raise ValueError("weekdays is empty: the window would never open")
        return self


class WebhookHook(_Model):
    """POST a JSON event (never the value) after each successful rotation."""

    kind: Literal["webhook"]
    url: str
    #: HMAC-SHA256 key for the ``X-Rotator-Signature`` header (use ``${VAR}``).
    signing_key: SecretStr | None = None
    timeout: PositiveDuration = timedelta(seconds=5)
    attempts: int = Field(3, ge=1, le=10)
    headers: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _url(self) -> Self:
        if not re.match(r"^https?://[^/\s]+", self.url):
            raise ValueError(f"url {self.url!r} must start with http:// or https://")
        return self


class CommandHook(_Model):
    """Run a program (no shell) after each successful rotation."""

    kind: Literal["command"]
    argv: tuple[str, ...] = Field(min_length=1)
    timeout: PositiveDuration = timedelta(seconds=30)
    #: Give the program the new value on its standard input.
    pass_value: bool = False
    env: dict[str, str] = Field(default_factory=dict)


Hook = Annotated[WebhookHook | CommandHook, Field(discriminator="kind")]

Engine = Literal["kv2", "kv1", "transit"]
TransitKeyType = Literal[
    "aes128-gcm96",
    "aes256-gcm96",
    "chacha20-poly1305",
    "ed25519",
    "ecdsa-p256",
    "ecdsa-p384",
    "ecdsa-p521",
    "rsa-2048",
    "rsa-3072",
    "rsa-4096",
    "hmac",
]


class _SecretFields(_Model):
    """The fields a secret and ``defaults`` share."""

    mount: VaultPath = "secret"
    engine: Engine = "kv2"
    keep_previous: int = Field(1, ge=0, le=100)
    max_versions: int = Field(10, ge=1, le=1000)
    jitter: Duration = timedelta(0)
    retry: RetryPolicy = RetryPolicy()
    window: Window | None = None
    adopt: bool = False
    #: transit only: the type of a key rotator creates, and whether to trim old versions.
    key_type: TransitKeyType = "aes256-gcm96"
    trim: bool = False
    hooks: tuple[Hook, ...] = ()


class SecretDefaults(_SecretFields):
    """``defaults``: any secret field; a secret's own value wins, field by field."""

    generator: GeneratorSpec | None = None
    schedule: Schedule | None = None


class SecretConfig(_SecretFields):
    """One managed secret."""

    name: SecretName
    path: VaultPath
    generator: GeneratorSpec | None = None
    schedule: Schedule

    @model_validator(mode="after")
    def _engine_fits(self) -> Self:
        if self.engine == "transit":
            if self.generator is not None:
                raise ValueError(
                    "generator: a transit key is rotated by Vault itself; remove the generator"
                )
            if any(isinstance(hook, CommandHook) and hook.pass_value for hook in self.hooks):
                raise ValueError("hooks: pass_value needs a generated value; transit has none")
        elif self.generator is None:
            raise ValueError(f"generator: required for engine {self.engine}")
        return self

    @property
    def vault_path(self) -> str:
        """The secret's address for messages: ``mount/path``."""
        return f"{self.mount}/{self.path}"

    @property
    def kind(self) -> str:
        """What is rotated: the generator's kind, or ``transit-key``."""
        return self.generator.kind if self.generator is not None else "transit-key"


class AuditConfig(_Model):
    stdout: bool = True
    file: Path | None = None
    #: ``auto``: readable lines on a terminal when no file is set, JSON otherwise.
    format: Literal["auto", "json", "console"] = "auto"


class ServerConfig(_Model):
    """The HTTP endpoints (/healthz, /readyz, /metrics); ``listen: null`` turns them off."""

    listen: str | None = "127.0.0.1:9464"

    @model_validator(mode="after")
    def _address(self) -> Self:
        if self.listen is not None:
            host, _, port = self.listen.rpartition(":")
            if not host or not port.isdigit() or int(port) > 65535:
                raise ValueError(
                    f"listen {self.listen!r} must be HOST:PORT, such as 127.0.0.1:9464"
                )
        return self

    @property
    def address(self) -> tuple[str, int] | None:
        if self.listen is None:
            return None
        host, _, port = self.listen.rpartition(":")
        return host.strip("[]"), int(port)


class SchedulerConfig(_Model):
    """How the daemon runs its jobs."""

    workers: int = Field(8, ge=1, le=256)
    #: Overdue and new secrets start at most this many per second after start-up.
    catchup_per_second: float = Field(20.0, gt=0, le=100_000)


class Config(_Model):
    vault: VaultConfig
    defaults: SecretDefaults = SecretDefaults()
    audit: AuditConfig = AuditConfig()
    server: ServerConfig = ServerConfig()
    scheduler: SchedulerConfig = SchedulerConfig()
    secrets: tuple[SecretConfig, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _apply_defaults(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        defaults = data.get("defaults") or {}
        secrets = data.get("secrets")
        if isinstance(defaults, Mapping) and isinstance(secrets, list):
            parts = _PartCache()
            merged = [
                parts.validated({**defaults, **secret}) if isinstance(secret, Mapping) else secret
                for secret in secrets
            ]
            return {**data, "secrets": merged}
        return data

    @model_validator(mode="after")
    def _unique(self) -> Self:
        seen: set[str] = set()
        places: set[tuple[str, str]] = set()
        for secret in self.secrets:
            if secret.name in seen:
                raise ValueError(f"secret name {secret.name!r} is used twice")
            seen.add(secret.name)
            if (secret.mount, secret.path) in places:
                raise ValueError(f"two secrets write to {secret.vault_path!r}")
            places.add((secret.mount, secret.path))
        return self

    def secret(self, name: str) -> SecretConfig:
        """The secret called `name`; a `ConfigError` listing the known names otherwise."""
        for secret in self.secrets:
            if secret.name == name:
                return secret
        known = ", ".join(s.name for s in self.secrets) or "none"
        raise ConfigError(f"no secret named {name!r} in the config (known: {known})")


# -- loading ---------------------------------------------------------------

_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def expand_env(value: str, environ: Mapping[str, str], *, key: str) -> str:
    """Expand ``${VAR}`` and ``${VAR:-default}``; ``$$`` is a literal ``$``."""

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, default = match.group(1), match.group(2)
        found = environ.get(name)
        if found:
            return found
        if default is not None:
            return default
        if found is not None:
            return found
        raise ConfigError(f"environment variable {name} is not set", key=key)

    return _VAR.sub(substitute, value)


def _expand_tree(node: Any, environ: Mapping[str, str], key: str) -> Any:
    """`node` with every string expanded; unchanged parts are the same objects, not copies."""
    if isinstance(node, str):
        return expand_env(node, environ, key=key or "<root>") if "$" in node else node
    if isinstance(node, list):
        items = [_expand_tree(item, environ, f"{key}[{i}]") for i, item in enumerate(node)]
        return node if all(a is b for a, b in zip(items, node, strict=True)) else items
    if isinstance(node, dict):
        expanded = {
            name: _expand_tree(item, environ, f"{key}.{name}" if key else str(name))
            for name, item in node.items()
        }
        return node if all(expanded[name] is item for name, item in node.items()) else expanded
    return node


def _apply_vault_environment(raw: dict[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    """Fill what the config leaves out from VAULT_ADDR, VAULT_TOKEN and friends.

    Returns a new top level with a new ``vault`` section; `raw` is not changed.
    """
    vault = raw.get("vault")
    if vault is None:
        vault = {}
    if not isinstance(vault, dict):
        return raw
    vault = {
        **vault,
        **{
            part: dict(vault[part]) for part in ("auth", "tls") if isinstance(vault.get(part), dict)
        },
    }
    raw = {**raw, "vault": vault}
    if "address" not in vault and environ.get("VAULT_ADDR"):
        vault["address"] = environ["VAULT_ADDR"]
    if "namespace" not in vault and environ.get("VAULT_NAMESPACE"):
        vault["namespace"] = environ["VAULT_NAMESPACE"]
    auth = vault.setdefault("auth", {})
    if isinstance(auth, dict):
        auth.setdefault("method", "token")
    if (
        isinstance(auth, dict)
        and auth.get("method", "token") == "token"
        and "token" not in auth
        and "token_file" not in auth
    ):
        if environ.get("VAULT_TOKEN"):
            auth["token"] = environ["VAULT_TOKEN"]
        else:
            token_file = Path(environ.get("HOME", "~")).expanduser() / ".vault-token"
            if token_file.is_file():
                auth["token_file"] = str(token_file)
    tls = vault.setdefault("tls", {})
    if isinstance(tls, dict):
        if "ca_cert" not in tls and environ.get("VAULT_CACERT"):
            tls["ca_cert"] = environ["VAULT_CACERT"]
        skip = environ.get("VAULT_SKIP_VERIFY", "").lower()
        if "verify" not in tls and skip in {"1", "true", "yes"}:
            tls["verify"] = False
    return raw


def _format_key(loc: Sequence[int | str], raw: Any) -> str:
    """Turn pydantic's location into the key an operator wrote.

    Secrets are named by their ``name`` when they have one, and the tags
    pydantic inserts for unions (``generator.token.bytes``) are dropped.
    """
    parts: list[str] = []
    node = raw
    for index, item in enumerate(loc):
        last = index == len(loc) - 1
        if isinstance(node, list) and isinstance(item, int):
            element = node[item] if item < len(node) else None
            name = element.get("name") if isinstance(element, dict) else None
            parts.append(f"[{name}]" if isinstance(name, str) and name else f"[{item}]")
            node = element
            continue
        if isinstance(node, dict) and item not in node and (not last or node.get("kind") == item):
            continue  # a union tag (the generator's kind), not a key the operator wrote
        parts.append(f".{item}" if parts else str(item))
        node = node.get(item) if isinstance(node, dict) else None
    return "".join(parts) or "<root>"


def _from_defaults(loc: Sequence[int | str], raw: Mapping[str, Any]) -> bool:
    """Whether an error under ``secrets[i].field`` comes from ``defaults.field``."""
    if len(loc) < 3 or loc[0] != "secrets" or not isinstance(loc[1], int):
        return False
    secrets = raw.get("secrets")
    defaults = raw.get("defaults")
    if not isinstance(secrets, list) or not isinstance(defaults, dict) or loc[1] >= len(secrets):
        return False
    secret = secrets[loc[1]]
    return isinstance(secret, dict) and loc[2] not in secret and loc[2] in defaults


def _clean_message(message: str) -> str:
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            return message[len(prefix) :]
    return message


def parse_config(
    raw: Any, *, source: str = "config", environ: Mapping[str, str] | None = None
) -> Config:
    """Validate an already parsed YAML document."""
    environ = os.environ if environ is None else environ
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: the top level must be a mapping of keys")
    raw = _expand_tree(raw, environ, "")
    raw = _apply_vault_environment(raw, environ)
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        detail = "\n  ".join(validation_messages(exc, raw))
        raise ConfigError(f"{source}: invalid config:\n  {detail}") from None
    _share_equal_parts(config)
    return config


#: The parts of a secret that are usually equal across many secrets (from ``defaults``).
_SHARED_FIELDS = ("generator", "schedule", "retry", "window", "jitter")


class _PartCache:
    """Validates each distinct generator, schedule, retry policy and window once.

    With a hundred thousand secrets built from a few ``defaults``, pydantic
    would otherwise build (and the process briefly hold) a hundred thousand
    equal objects of each. A part that does not validate is left as it was,
    so that the secret's own validation reports it with its key.
    """

    _TYPES: ClassVar[dict[str, Any]] = {
        "generator": GeneratorSpec,
        "schedule": Schedule,
        "retry": RetryPolicy,
        "window": Window,
    }
    _ADAPTERS: ClassVar[dict[str, TypeAdapter[Any]]] = {}

    def __init__(self) -> None:
        self._by_id: dict[int, tuple[object, object]] = {}
        self._by_text: dict[str, object] = {}

    @classmethod
    def _adapter(cls, name: str) -> TypeAdapter[Any]:
        if name not in cls._ADAPTERS:
            cls._ADAPTERS[name] = TypeAdapter(cls._TYPES[name])
        return cls._ADAPTERS[name]

    def _part(self, name: str, raw: object) -> object:
        known = self._by_id.get(id(raw))
        if known is not None and known[0] is raw:
            return known[1]
        try:
            text = name + json.dumps(raw, sort_keys=True)
        except (TypeError, ValueError):
            return raw
        part = self._by_text.get(text)
        if part is None:
            try:
                part = self._adapter(name).validate_python(raw)
            except ValidationError:
                return raw
            self._by_text[text] = part
        self._by_id[id(raw)] = (raw, part)  # keeps raw alive, so its id stays unique
        return part

    def validated(self, secret: dict[str, Any]) -> dict[str, Any]:
        for name in self._TYPES:
            raw = secret.get(name)
            if isinstance(raw, dict):
                secret[name] = self._part(name, raw)
        return secret


def _share_equal_parts(config: Config) -> None:
    """Make equal sub-objects of different secrets one object.

    A config of a hundred thousand secrets built from a few ``defaults``
    would otherwise hold a hundred thousand equal generators, schedules and
    retry policies. They are frozen, so sharing them changes nothing but the
    memory: about half of it, measured at 100,000 secrets.
    """
    seen: dict[object, object] = {}
    for secret in config.secrets:
        for name in _SHARED_FIELDS:
            value = getattr(secret, name)
            try:
                shared = seen.setdefault(value, value)
            except TypeError:  # unhashable: leave it as it is
                continue
            if shared is not value:
                # Bypasses pydantic's frozen check on purpose: the value is equal.
                object.__setattr__(secret, name, shared)


def validation_messages(exc: ValidationError, raw: Any, *, root: str = "") -> list[str]:
    """One line per problem, each starting with the key the operator wrote."""
    lines = []
    for error in exc.errors(include_url=False, include_input=False):
        loc = error["loc"]
        if isinstance(raw, Mapping) and _from_defaults(loc, raw):
            continue
        message = _clean_message(error["msg"])
        if error["type"] == "extra_forbidden":
            message = "unknown key"
        key = _format_key(loc, raw)
        if root:
            key = root if key == "<root>" else f"{root}.{key}"
        lines.append(f"{key}: {message}")
    return list(dict.fromkeys(lines))


def load_config(path: Path | str | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Read, expand and validate the config file at `path`.

    `path` defaults to ``$ROTATOR_CONFIG`` and then ``config/rotator.yaml``.
    """
    environ = os.environ if environ is None else environ
    if path is None:
        path = environ.get("ROTATOR_CONFIG") or DEFAULT_CONFIG_PATH
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    return parse_config(_parse_text(text, path), source=str(path), environ=environ)


#: libyaml's parser when PyYAML was built with it (the wheels are): several times faster.
_YamlLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _parse_text(text: str, path: Path) -> Any:
    """YAML; a document that is JSON (a subset of YAML) takes the much faster JSON parser.

    Generated configs with many thousands of secrets load in seconds as JSON.
    """
    if text.lstrip().startswith("{"):
        try:
            return json.loads(text)
        except ValueError:
            pass  # YAML flow style, not JSON: let the YAML parser judge it
    try:
        return yaml.load(text, Loader=_YamlLoader)  # noqa: S506 (a safe loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise ConfigError(f"{path}: {problem}{where}") from None
