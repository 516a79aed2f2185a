"""``rotator run``: an APScheduler loop that rotates each secret when it falls due.

The scheduler only decides when. Each secret has at most one pending job, a
one-shot `DateTrigger` at its next due time read from Vault; the job calls
`Rotator.rotate`, which reads the state again, decides, and writes with
check-and-set, and the job then plans the next run from what it returned.
Nothing about the schedule is kept outside Vault, so a restart plans the same
times, and a secret that fell due while the daemon was down is caught up,
staggered. SIGHUP (or a changed file with ``--watch-config``) reloads the
config and re-plans only what changed.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor as JobExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from structlog.typing import FilteringBoundLogger

from rotator.board import StatusBoard
from rotator.clock import SYSTEM_CLOCK, Clock, format_time
from rotator.config import Config, SecretConfig
from rotator.errors import RotatorError
from rotator.generators import SYSTEM_RANDOM, RandomSource
from rotator.hooks import HookRunner
from rotator.metrics import Metrics
from rotator.pending import PendingRuns, Planned
from rotator.rotation import Outcome, RotationResult, Rotator
from rotator.schedule import Trigger, next_fire, plan_first_run, retry_delay
from rotator.server import Check, StatusServer
from rotator.store import ScheduleState, SecretStore
from rotator.vault.connection import VaultHealth

__all__ = ["Backend", "Daemon"]

#: How often the daemon probes Vault for /readyz, the vault_up gauge and events.
PROBE_INTERVAL = timedelta(seconds=10)
#: How long a probe's answer serves /readyz before it is asked again.
PROBE_MAX_AGE = timedelta(seconds=1)
#: How often --watch-config looks at the file.
WATCH_INTERVAL_SECONDS = 2.0
#: Runs due within this much time are APScheduler jobs; later ones wait in `PendingRuns`.
HORIZON = timedelta(minutes=5)
#: How often runs move from `PendingRuns` into APScheduler (well within the horizon).
REFILL_INTERVAL = timedelta(minutes=1)


def _nothing() -> None:
    return None


@dataclass(frozen=True)
class Backend:
    """Where secrets are stored, how to tell whether it is up, and how to keep its token."""

    store: SecretStore
    probe: Callable[[], VaultHealth]
    maintain: Callable[[], None] = _nothing


class Daemon:
    """Runs every configured secret's schedule until stopped."""

    def __init__(
        self,
        config: Config,
        audit: FilteringBoundLogger,
        *,
        backend_factory: Callable[[Config], Backend],
        clock: Clock = SYSTEM_CLOCK,
        random: RandomSource = SYSTEM_RANDOM,
        reload_config: Callable[[], Config] | None = None,
        on_reload: Callable[[], None] | None = None,
    ) -> None:
        self._config = config
        self._secrets = {secret.name: secret for secret in config.secrets}
        self._audit = audit
        self._backend_factory = backend_factory
        self._backend = backend_factory(config)
        self._clock = clock
        self._random = random
        self._hooks = HookRunner(audit)
        self._rotator = self._new_rotator(self._backend)
        self._reload_config = reload_config
        self._on_reload = on_reload
        self.board = StatusBoard()
        self.metrics = Metrics(self.board, clock)
        self._scheduler = BackgroundScheduler(
            timezone=UTC,
            executors={"default": JobExecutor(config.scheduler.workers)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        self._server: StatusServer | None = None
        self._lock = threading.Lock()
        self._job_ids: dict[str, str] = {}
        self._pending = PendingRuns()
        self._running: set[str] = set()
        self._sequence = itertools.count(1)
        self._stopping = threading.Event()
        self._reload_requested = threading.Event()
        self._stopped = False
        self._health: VaultHealth | None = None
        self._health_at: datetime | None = None
        self._health_lock = threading.Lock()

    def _new_rotator(self, backend: Backend) -> Rotator:
        return Rotator(
            backend.store,
            self._audit,
            clock=self._clock,
            random=self._random,
            after_success=self._hooks.after_rotation,
        )

    # -- lifecycle ---------------------------------------------------------

    @property
    def listen_address(self) -> str | None:
        return self._server.address if self._server is not None else None

    def start(self) -> None:
        """Serve the endpoints, start the scheduler and plan every secret from Vault."""
        address = self._config.server.address
        if address is not None:
            self._server = StatusServer(
                address, health=self.health, ready=self.readiness, metrics=self.metrics.render
            )
            self._server.start()
        self._scheduler.start()
        self._scheduler.add_job(
            self._maintain_job,
            trigger=IntervalTrigger(seconds=1),
            id="vault-token",
            name="vault-token",
        )
        self._scheduler.add_job(
            self._probe_job,
            trigger=IntervalTrigger(seconds=PROBE_INTERVAL.total_seconds()),
            id="vault-probe",
            name="vault-probe",
        )
        self._scheduler.add_job(
            self._refill,
            trigger=IntervalTrigger(seconds=REFILL_INTERVAL.total_seconds()),
            id="refill",
            name="refill",
        )
        self._audit.info(
            "daemon.started",
            secrets=len(self._secrets),
            workers=self._config.scheduler.workers,
            listen=self.listen_address,
            pid=os.getpid(),
        )
        started = time.monotonic()
        self._plan(self._config.secrets)
        with self._lock:
            near, far = len(self._job_ids), len(self._pending)
        self._audit.info(
            "daemon.planned",
            secrets=len(self._secrets),
            jobs=near,
            later=far,
            duration_ms=round((time.monotonic() - started) * 1000),
        )

    def request_stop(self) -> None:
        """Take no new rotation from now on; safe to call from a signal handler."""
        self._stopping.set()

    def request_reload(self) -> None:
        """Reload the config at the next turn of `run_until_stopped`; signal-safe."""
        self._reload_requested.set()

    def stop(self) -> None:
        """Take no new rotation, wait for those in flight, stop everything."""
        self._stopping.set()
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        self._scheduler.shutdown(wait=True)
        self._hooks.close(wait=True)
        if self._server is not None:
            self._server.stop()
        self._audit.info("daemon.stopped")

    def run_until_stopped(self, *, watch: Path | None = None) -> None:
        """Start, then reload on request (or when `watch` changes) until asked to stop."""
        self.start()
        signature = _file_signature(watch) if watch is not None else None
        last_look = self._clock.now()
        while not self._stopping.wait(0.25):
            if watch is not None and (self._clock.now() - last_look).total_seconds() >= (
                WATCH_INTERVAL_SECONDS
            ):
                last_look = self._clock.now()
                current = _file_signature(watch)
                if current != signature:
                    signature = current
                    self._reload_requested.set()
            if self._reload_requested.is_set():
                self._reload_requested.clear()
                self.reload()
        self.stop()

    # -- configuration -----------------------------------------------------

    def reload(self, config: Config | None = None) -> bool:
        """Apply a new config: add, re-plan and remove jobs. False if it was refused."""
        if self._on_reload is not None:
            self._on_reload()
        try:
            if config is None:
                if self._reload_config is None:
                    return False
                config = self._reload_config()
            backend = self._backend_factory(config) if config.vault != self._config.vault else None
        except RotatorError as exc:
            self._audit.error("config.reload_failed", error=str(exc), error_type=type(exc).__name__)
            return False
        old = self._secrets
        new = {secret.name: secret for secret in config.secrets}
        removed = sorted(set(old) - set(new))
        added = sorted(set(new) - set(old))
        changed = sorted(name for name in set(old) & set(new) if old[name] != new[name])
        restart_needed = [
            key
            for key in ("server", "scheduler", "audit")
            if getattr(config, key) != getattr(self._config, key)
        ]
        with self._lock:
            if backend is not None:
                self._backend = backend
                self._rotator = self._new_rotator(backend)
            self._config = config
            self._secrets = new
        for name in removed:
            self._unschedule(name)
            self.board.remove(name)
        self._plan([new[name] for name in added + changed])
        fields: dict[str, Any] = {}
        if restart_needed:
            fields["restart_needed_for"] = restart_needed
        self._audit.info(
            "config.loaded",
            secrets=len(new),
            added=added,
            changed=changed,
            removed=removed,
            vault_changed=backend is not None,
            **fields,
        )
        return True

    # -- Vault health ------------------------------------------------------

    def health(self) -> Check:
        alive = self._scheduler.running and not self._stopping.is_set()
        return alive, {"scheduler": "running" if alive else "stopped"}

    def readiness(self) -> Check:
        health = self._fresh_health()
        detail: dict[str, Any] = {
            "vault": {
                "reachable": health.reachable,
                "sealed": health.sealed,
                "authenticated": health.authenticated,
            }
        }
        if health.error:
            detail["error"] = health.error
        return health.ok, detail

    def _fresh_health(self) -> VaultHealth:
        with self._health_lock:
            now = self._clock.now()
            if (
                self._health is not None
                and self._health_at is not None
                and now - self._health_at < PROBE_MAX_AGE
            ):
                return self._health
        return self._probe()

    def _probe_job(self) -> None:
        self._probe()

    def _maintain_job(self) -> None:
        self._backend.maintain()

    def _probe(self) -> VaultHealth:
        health = self._backend.probe()
        with self._health_lock:
            before = self._health
            self._health, self._health_at = health, self._clock.now()
        self.metrics.vault_up.set(1 if health.ok else 0)
        if health.token_ttl is not None:
            self.metrics.token_ttl.set(health.token_ttl)
        if health.ok and before is not None and not before.ok:
            self._audit.info("vault.available")
        elif not health.ok and (before is None or before.ok):
            self._audit.warning(
                "vault.unavailable",
                reachable=health.reachable,
                sealed=health.sealed,
                authenticated=health.authenticated,
                error=health.error,
            )
        return health

    # -- planning ----------------------------------------------------------

    def _plan(self, secrets: Iterable[SecretConfig]) -> None:
        secrets = list(secrets)
        if not secrets:
            return
        now = self._clock.now()
        store = self._backend.store

        def read(secret: SecretConfig) -> tuple[SecretConfig, ScheduleState | None, bool]:
            try:
                return secret, store.read_schedule(secret), True
            except RotatorError:
                return secret, None, False

        with ThreadPoolExecutor(max_workers=self._config.scheduler.workers) as pool:
            planned = list(pool.map(read, secrets))
        rate = self._config.scheduler.catchup_per_second
        immediate = 0
        for secret, state, readable in planned:
            if readable:
                self.board.observe_state(secret.name, state)
                run_at, trigger = plan_first_run(state, now, secret)
            else:
                # Vault could not say; the job reads again and retries as needed.
                run_at, trigger = now, Trigger.SCHEDULE
            if run_at <= now:
                run_at = now + timedelta(seconds=immediate / rate)
                immediate += 1
            self._schedule(secret.name, run_at, trigger, attempt=1)

    def _schedule(
        self,
        name: str,
        run_at: datetime,
        trigger: Trigger,
        *,
        attempt: int,
        rotation_id: str | None = None,
    ) -> None:
        planned = Planned(run_at, trigger, attempt, rotation_id)
        with self._lock:
            if self._stopping.is_set():
                return
            self._drop_plan(name)
            if run_at <= self._clock.now() + HORIZON:
                self._add_job(name, planned)
            else:
                self._pending.put(name, planned)
        self.board.planned(name, run_at)

    def _add_job(self, name: str, planned: Planned) -> None:
        """Give APScheduler a run (lock held)."""
        job_id = f"{name}#{next(self._sequence)}"
        self._scheduler.add_job(
            self._run,
            trigger=DateTrigger(run_date=planned.run_at),
            args=(name, planned.trigger, planned.attempt, planned.rotation_id),
            id=job_id,
            name=name,
        )
        self._job_ids[name] = job_id

    def _drop_plan(self, name: str) -> None:
        """Forget the run planned for `name`, wherever it waits (lock held)."""
        self._pending.discard(name)
        old = self._job_ids.pop(name, None)
        if old is not None:
            # JobLookupError: it is the job running now, already off the store.
            with contextlib.suppress(JobLookupError):
                self._scheduler.remove_job(old)

    def _refill(self) -> None:
        """Move the runs that came within the horizon into APScheduler."""
        with self._lock:
            if self._stopping.is_set():
                return
            for name, planned in self._pending.pop_until(self._clock.now() + HORIZON):
                self._add_job(name, planned)

    def _unschedule(self, name: str) -> None:
        with self._lock:
            self._drop_plan(name)

    def next_run_times(self) -> dict[str, datetime]:
        """When each secret's planned run is."""
        with self._lock:
            times = {name: planned.run_at for name, planned in self._pending.planned().items()}
            for name, job_id in self._job_ids.items():
                job = self._scheduler.get_job(job_id)
                if job is not None and job.next_run_time is not None:
                    times[name] = job.next_run_time
        return times

    # -- one job -----------------------------------------------------------

    def _run(
        self, name: str, trigger: Trigger, attempt: int, rotation_id: str | None = None
    ) -> None:
        with self._lock:
            if self._stopping.is_set() or name in self._running:
                return
            secret = self._secrets.get(name)
            if secret is None:
                return
            self._running.add(name)
            rotator = self._rotator
        try:
            result: RotationResult | None = rotator.rotate(
                secret, trigger=trigger, attempt=attempt, rotation_id=rotation_id
            )
        except Exception as exc:  # a bug must not stop the schedule of this secret
            self._audit.exception(
                "rotation.failed",
                secret=name,
                trigger=str(trigger),
                attempt=attempt,
                error=f"{type(exc).__name__}: {exc}",
                error_type="InternalError",
            )
            result = None
        finally:
            with self._lock:
                self._running.discard(name)
        if result is not None:
            self.board.observe_result(result)
            self.metrics.observe(result)
        self._plan_after(secret, trigger, attempt, result)

    def _plan_after(
        self,
        secret: SecretConfig,
        trigger: Trigger,
        attempt: int,
        result: RotationResult | None,
    ) -> None:
        now = self._clock.now()
        if result is not None and result.outcome is not Outcome.FAILED:
            due = result.next_rotation_at or now + timedelta(seconds=1)
            self._schedule(secret.name, due, Trigger.SCHEDULE, attempt=1)
            return
        error = result.error if result is not None else None
        retry = secret.retry
        if error is not None and error.transient and attempt < retry.attempts:
            delay = retry_delay(retry, attempt, self._random)
            self._audit.info(
                "rotation.retry_scheduled",
                secret=secret.name,
                trigger=str(trigger),
                rotation_id=result.rotation_id if result is not None else None,
                attempt=attempt,
                next_attempt=attempt + 1,
                delay_ms=round(delay.total_seconds() * 1000),
                retry_at=format_time(now + delay),
            )
            self._schedule(
                secret.name,
                now + delay,
                trigger,
                attempt=attempt + 1,
                rotation_id=result.rotation_id if result is not None else None,
            )
            return
        # Permanent failure, or retries used up: try again at the next scheduled
        # time, but no later than max_backoff, so a long period does not leave a
        # secret overdue for a whole period after Vault comes back.
        again = min(next_fire(secret.schedule, now), now + retry.max_backoff)
        self._schedule(secret.name, again, trigger, attempt=1)


def _file_signature(path: Path) -> tuple[int, int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_ino, stat.st_mtime_ns, stat.st_size
