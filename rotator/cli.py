"""The ``rotator`` command line.

Exit codes: 0 success, 1 a rotation or Vault failure, 2 bad usage or config.
Only this module exits the process. Nothing here prints a secret value,
except ``rotator generate``, whose whole purpose is to print one.
"""

from __future__ import annotations

import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import click

from rotator import __version__
from rotator.audit import make_audit_logger
from rotator.clock import format_time
from rotator.config import Config, load_config
from rotator.daemon import Daemon
from rotator.errors import RotatorError
from rotator.rotation import Outcome, RotationResult, Rotator, Trigger
from rotator.vault import KV2Store, VaultConnection

__all__ = ["cli", "main"]


@dataclass
class _Context:
    config_path: Path | None

    def config(self) -> Config:
        return load_config(self.config_path)


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
    "--workers",
    type=click.IntRange(1, 256),
    default=8,
    show_default=True,
    help="Rotations that may run at the same time.",
)
@click.pass_obj
def run(obj: _Context, workers: int) -> None:
    """Run the daemon: rotate every secret when it falls due, until SIGTERM or SIGINT."""
    config = obj.config()
    audit, writer = make_audit_logger(config.audit)
    connection = VaultConnection(config.vault)
    info = connection.lookup_self()
    audit.info(
        "vault.authenticated",
        address=config.vault.address,
        method=config.vault.auth.method,
        policies=list(info.policies),
        ttl=info.ttl,
    )
    store = KV2Store(connection)
    daemon = Daemon(config, store, Rotator(store, audit), audit, workers=workers)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        daemon.request_stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        daemon.run_until_stopped()
    finally:
        writer.close()


@cli.command()
@click.argument("names", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Rotate every configured secret.")
@click.option("--dry-run", is_flag=True, help="Say what would be rotated; write nothing.")
@click.pass_obj
def rotate(obj: _Context, names: tuple[str, ...], all_: bool, dry_run: bool) -> None:
    """Rotate the named secrets now, whether or not they are due."""
    if bool(names) == all_:
        raise click.UsageError("name one or more secrets, or pass --all (not both)")
    config = obj.config()
    secrets = list(config.secrets) if all_ else [config.secret(name) for name in names]
    audit, writer = make_audit_logger(config.audit, stream=sys.stderr)
    store = KV2Store(VaultConnection(config.vault))
    rotator = Rotator(store, audit)
    exit_code = 0
    try:
        for secret in secrets:
            result = rotator.rotate(secret, trigger=Trigger.MANUAL, force=True, dry_run=dry_run)
            click.echo(_describe(result))
            if result.error is not None:
                exit_code = max(exit_code, result.error.exit_code)
    finally:
        writer.close()
    sys.exit(exit_code)


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
