"""The ``rotator`` command line.

Exit codes: 0 success, 1 a rotation or Vault failure, 2 bad usage or config.
Only this module exits the process. Nothing here prints a secret value,
except ``rotator generate``, whose whole purpose is to print one.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError
from structlog.typing import FilteringBoundLogger

from rotator import __version__
from rotator.audit import make_audit_logger
from rotator.clock import SYSTEM_CLOCK, format_time
from rotator.config import (
    DEFAULT_CONFIG_PATH,
    Config,
    SecretConfig,
    load_config,
    validation_messages,
)
from rotator.daemon import Backend, Daemon
from rotator.durations import format_duration
from rotator.errors import ConfigError, RotatorError
from rotator.generators import GENERATOR_KINDS, parse_generator
from rotator.hooks import HookRunner
from rotator.report import (
    HISTORY_HEADERS,
    PLAN_HEADERS,
    STATUS_HEADERS,
    format_table,
    history_rows,
    plan_row,
    status_row,
)
from rotator.rotation import Outcome, RotationResult, Rotator
from rotator.schedule import Trigger
from rotator.store import ScheduleState, SecretStore
from rotator.vault import VaultConnection, VaultStore
from rotator.vault.connection import EventSink

__all__ = ["cli", "main"]


@dataclass
class _Context:
    config_path: Path | None

    def path(self) -> Path:
        return self.config_path or Path(os.environ.get("ROTATOR_CONFIG") or DEFAULT_CONFIG_PATH)

    def config(self) -> Config:
        return load_config(self.path())


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "-c",
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="ROTATOR_CONFIG",
    default=None,
    help="Config file [default: $ROTATOR_CONFIG, else config/rotator.yaml].",
)
@click.version_option(__version__, prog_name="rotator")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None) -> None:
    """Rotate secrets in HashiCorp Vault and OpenBao on a schedule."""
    ctx.obj = _Context(config_path)


@cli.command()
@click.option(
    "--watch-config", is_flag=True, help="Reload the config when its file changes (as on SIGHUP)."
)
@click.pass_obj
def run(obj: _Context, watch_config: bool) -> None:
    """Run the daemon: rotate every secret when it falls due, until SIGTERM or SIGINT.

    SIGHUP reloads the config (and reopens the audit file); a config that
    does not load is refused with config.reload_failed and the old one runs on.
    """
    config = obj.config()
    audit, writer = make_audit_logger(config.audit)
    audit.info("config.loaded", path=str(obj.path()), secrets=len(config.secrets))

    def backend(current: Config) -> Backend:
        connection = VaultConnection(current.vault, events=_event_sink(audit))
        try:
            connection.lookup_self()
        except RotatorError as exc:
            if not exc.transient:
                raise
            audit.warning("vault.unavailable", error=str(exc))
        return Backend(
            store=_store(current, connection), probe=connection.probe, maintain=connection.maintain
        )

    daemon = Daemon(
        config, audit, backend_factory=backend, reload_config=obj.config, on_reload=writer.reopen
    )
    signal.signal(signal.SIGTERM, lambda signum, frame: daemon.request_stop())
    signal.signal(signal.SIGINT, lambda signum, frame: daemon.request_stop())
    signal.signal(signal.SIGHUP, lambda signum, frame: daemon.request_reload())
    try:
        daemon.run_until_stopped(watch=obj.path() if watch_config else None)
    finally:
        writer.close()


#: From this many secrets on, ``rotate`` on a terminal shows a progress bar.
PROGRESS_THRESHOLD = 10


@cli.command()
@click.argument("names", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Rotate every configured secret.")
@click.option("--dry-run", is_flag=True, help="Say what would be rotated; write nothing.")
@click.option(
    "--concurrency",
    type=click.IntRange(1, 256),
    default=None,
    help="Rotations at the same time [default: scheduler.workers].",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per secret and line.")
@click.pass_obj
def rotate(
    obj: _Context,
    names: tuple[str, ...],
    *,
    all_: bool,
    dry_run: bool,
    concurrency: int | None,
    as_json: bool,
) -> None:
    """Rotate the named secrets now, whether or not they are due."""
    if bool(names) == all_:
        raise click.UsageError("name one or more secrets, or pass --all (not both)")
    config = obj.config()
    secrets = list(config.secrets) if all_ else [config.secret(name) for name in names]
    audit, writer = make_audit_logger(config.audit, stream=sys.stderr)
    hooks = HookRunner(audit)
    rotator = Rotator(
        _store(config, VaultConnection(config.vault, events=_event_sink(audit))),
        audit,
        after_success=hooks.after_rotation,
    )

    def one(secret: SecretConfig) -> RotationResult:
        return rotator.rotate(secret, trigger=Trigger.MANUAL, force=True, dry_run=dry_run)

    show_bar = not as_json and sys.stdout.isatty() and len(secrets) >= PROGRESS_THRESHOLD
    exit_code = 0
    counts: dict[str, int] = {}
    try:
        with (
            ThreadPoolExecutor(max_workers=concurrency or config.scheduler.workers) as pool,
            click.progressbar(
                length=len(secrets), label="rotating", file=sys.stderr if show_bar else _NULL
            ) as bar,
        ):
            for result in pool.map(one, secrets):
                bar.update(1)
                counts[str(result.outcome)] = counts.get(str(result.outcome), 0) + 1
                if as_json:
                    click.echo(json.dumps(_result_json(result)))
                elif not show_bar or result.outcome is Outcome.FAILED:
                    click.echo(_describe(result))
                if result.error is not None:
                    exit_code = max(exit_code, result.error.exit_code)
    finally:
        hooks.close(wait=True)
        writer.close()
    if show_bar:
        click.echo(", ".join(f"{count} {outcome}" for outcome, count in sorted(counts.items())))
    sys.exit(exit_code)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object per secret, in a list.")
@click.pass_obj
def status(obj: _Context, as_json: bool) -> None:
    """Every secret: engine, path, kind, schedule, last rotated, age, next due, version, state.

    Reads metadata only; never shows a value. Exit 1 if Vault could not be
    read for some secret.
    """
    config = obj.config()
    states = _read_states(config)
    now = SYSTEM_CLOCK.now()
    rows = [status_row(secret, states[secret.name], now) for secret in config.secrets]
    if as_json:
        click.echo(json.dumps([row.to_json() for row in rows], indent=2))
    else:
        click.echo(format_table(STATUS_HEADERS, [row.cells() for row in rows]))
    _exit_if_errors(states)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object per secret, in a list.")
@click.pass_obj
def plan(obj: _Context, as_json: bool) -> None:
    """What a daemon started now would rotate, when, and why. Writes nothing."""
    config = obj.config()
    states = _read_states(config)
    now = SYSTEM_CLOCK.now().replace(microsecond=0)
    rows = sorted(
        (plan_row(secret, states[secret.name], now) for secret in config.secrets),
        key=lambda row: (row.when, row.name),
    )
    if as_json:
        click.echo(json.dumps([row.to_json() for row in rows], indent=2))
    else:
        click.echo(format_table(PLAN_HEADERS, [row.cells(now) for row in rows]))
    _exit_if_errors(states)


@cli.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="A JSON list, newest version first.")
@click.pass_obj
def history(obj: _Context, name: str, as_json: bool) -> None:
    """The stored versions of secret NAME: when, key id, state. Never values."""
    config = obj.config()
    secret = config.secret(name)
    versions = _store(config).history(secret)
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "version": v.version,
                        "created_at": format_time(v.created_at) if v.created_at else None,
                        "rotated_at": format_time(v.rotated_at) if v.rotated_at else None,
                        "kid": v.kid,
                        "state": v.state,
                    }
                    for v in versions
                ],
                indent=2,
            )
        )
    elif not versions:
        click.echo(f"{name}: nothing is stored at {secret.vault_path}")
    else:
        click.echo(format_table(HISTORY_HEADERS, history_rows(versions)))


@cli.command()
@click.argument("name")
@click.option(
    "--to",
    "to_version",
    type=click.IntRange(min=1),
    default=None,
    help="The version whose value becomes current [default: the one before the current].",
)
@click.pass_obj
def rollback(obj: _Context, name: str, to_version: int | None) -> None:
    """Make an older value of NAME current again, as a new version (check-and-set).

    The value it replaces stays in the keyring as the previous one, so
    consumers that already picked it up keep working.
    """
    config = obj.config()
    secret = config.secret(name)
    audit, writer = make_audit_logger(config.audit, stream=sys.stderr)
    hooks = HookRunner(audit)
    try:
        rotator = Rotator(_store(config), audit, after_success=hooks.after_rotation)
        result = rotator.rollback(secret, to_version=to_version)
    finally:
        hooks.close(wait=True)
        writer.close()
    if result.error is not None:
        raise result.error
    click.echo(
        f"{name}: version {result.version} restores kid {result.kid} "
        f"(was version {result.previous_version}), next due "
        f"{format_time(result.next_rotation_at) if result.next_rotation_at else '-'}"
    )


@cli.command()
@click.option(
    "--check-vault",
    is_flag=True,
    help="Also check the token and its capabilities on every configured path.",
)
@click.pass_obj
def validate(obj: _Context, check_vault: bool) -> None:
    """Check the config (exit 2 naming every bad key); with --check-vault, the token too."""
    config = obj.config()
    click.echo(f"{obj.path()}: valid, {len(config.secrets)} secret(s)")
    if not check_vault:
        return
    connection = VaultConnection(config.vault)
    info = connection.lookup_self()
    click.echo(
        f"token: accepted ({info.display_name or 'no name'}; policies {', '.join(info.policies)};"
        f" ttl {'none' if not info.ttl else format_duration(timedelta(seconds=info.ttl))})"
    )
    store = _store(config, connection)
    wanted = {secret.name: store.required_capabilities(secret) for secret in config.secrets}
    granted = connection.capabilities([path for paths in wanted.values() for path in paths])
    rows = []
    lacking = False
    for secret in config.secrets:
        for path, needed in wanted[secret.name].items():
            have = set(granted.get(path, ()))
            missing = [] if "root" in have else [cap for cap in needed if cap not in have]
            lacking = lacking or bool(missing)
            rows.append([secret.name, path, ", ".join(needed), ", ".join(missing) or "-"])
    click.echo(format_table(["SECRET", "PATH", "NEEDS", "MISSING"], rows))
    if lacking:
        click.echo("the token lacks capabilities rotator needs (see MISSING)", err=True)
        sys.exit(1)


def _event_sink(audit: FilteringBoundLogger) -> EventSink:
    def sink(event: str, **fields: Any) -> None:
        if event.endswith("failed"):
            audit.error(event, **fields)
        else:
            audit.info(event, **fields)

    return sink


class _NullWriter:
    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        return None


_NULL: Any = _NullWriter()


def _store(config: Config, connection: VaultConnection | None = None) -> SecretStore:
    return VaultStore(connection or VaultConnection(config.vault))


def _read_states(config: Config) -> dict[str, ScheduleState | RotatorError | None]:
    store = _store(config)

    def read(secret: SecretConfig) -> ScheduleState | RotatorError | None:
        try:
            return store.read_schedule(secret)
        except RotatorError as exc:
            return exc

    with ThreadPoolExecutor(max_workers=config.scheduler.workers) as pool:
        return dict(
            zip(
                (secret.name for secret in config.secrets),
                pool.map(read, config.secrets),
                strict=True,
            )
        )


def _exit_if_errors(states: dict[str, ScheduleState | RotatorError | None]) -> None:
    errors = {name: state for name, state in states.items() if isinstance(state, RotatorError)}
    for name, error in errors.items():
        click.echo(f"rotator: {name}: {error}", err=True)
    if errors:
        sys.exit(max(error.exit_code for error in errors.values()))


@cli.command(
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    epilog="Parameters are the generator's config keys as options: "
    "rotator generate password --length 32 --symbols 0 --custom.chars äöü --custom.min 1",
)
@click.argument("kind")
@click.option("--json", "as_json", is_flag=True, help="Print the value with its public material.")
@click.pass_context
def generate(ctx: click.Context, kind: str, as_json: bool) -> None:
    """Print one new value of KIND, made locally; Vault is not contacted.

    The value goes to stdout and its entropy to stderr, so that scripts can
    capture the value alone. This is the only command that prints a value.
    """
    if kind not in GENERATOR_KINDS:
        raise ConfigError(f"unknown generator kind {kind!r} (known: {', '.join(GENERATOR_KINDS)})")
    params = _generator_params(ctx.args)
    raw: dict[str, Any] = {**params, "kind": kind}
    try:
        generator = parse_generator(raw)
    except ValidationError as exc:
        detail = "\n  ".join(validation_messages(exc, raw, root="generator"))
        raise ConfigError(f"invalid generator parameters:\n  {detail}") from None
    generated = generator.generate()
    if as_json:
        document = {
            "kind": kind,
            "entropy_bits": round(generator.entropy_bits(), 1),
            "value": generated.value.reveal(),
            **generated.public,
        }
        click.echo(json.dumps(document, indent=2))
    else:
        click.echo(generated.value.reveal().rstrip("\n"))
    click.echo(f"{kind}: {generator.entropy_bits():.1f} bits of entropy", err=True)


def _generator_params(args: list[str]) -> dict[str, Any]:
    """``--bytes 16 --allow-weak --custom.min 1`` as a (nested) mapping."""
    params: dict[str, Any] = {}
    index = 0
    while index < len(args):
        option = args[index]
        if not option.startswith("--") or len(option) < 3:
            raise click.UsageError(f"expected --PARAM [VALUE], got {option!r}")
        name, has_value, value = option[2:].partition("=")
        if not has_value:
            following = args[index + 1] if index + 1 < len(args) else None
            if following is not None and not following.startswith("--"):
                value, index = following, index + 1
            else:
                value = "true"
        target = params
        *parents, leaf = name.replace("-", "_").split(".")
        for parent in parents:
            target = target.setdefault(parent, {})
            if not isinstance(target, dict):
                raise click.UsageError(f"--{name} conflicts with another parameter")
        target[leaf] = value
        index += 1
    return params


def _result_json(result: RotationResult) -> dict[str, Any]:
    """A rotation's outcome for scripts. Holds no value."""
    return {
        "secret": result.secret,
        "outcome": str(result.outcome),
        "reason": result.reason,
        "rotation_id": result.rotation_id,
        "version": result.version,
        "previous_version": result.previous_version,
        "kid": result.kid,
        "next_rotation_at": (
            format_time(result.next_rotation_at) if result.next_rotation_at else None
        ),
        "error": str(result.error) if result.error is not None else None,
        "error_type": type(result.error).__name__ if result.error is not None else None,
    }


def _describe(result: RotationResult) -> str:
    """One line about a rotation, for people. Holds no value."""
    if result.outcome is Outcome.SUCCEEDED:
        due = format_time(result.next_rotation_at) if result.next_rotation_at else "-"
        return (
            f"{result.secret}: rotated to version {result.version} "
            f"(kid {result.kid}), next due {due}"
        )
    if result.outcome is Outcome.PLANNED:
        return f"{result.secret}: would rotate (current version {result.previous_version})"
    if result.outcome is Outcome.SKIPPED:
        return f"{result.secret}: skipped ({result.reason})"
    return f"{result.secret}: failed: {result.error}"


def main(argv: list[str] | None = None) -> None:
    """The console script: map rotator's errors to messages and exit codes."""
    try:
        cli.main(args=argv, prog_name="rotator", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(1)
    except RotatorError as exc:
        click.echo(f"rotator: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    sys.exit(0)
