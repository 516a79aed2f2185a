"""``rotator run``: an APScheduler loop that rotates each secret when it falls due.

The scheduler only decides when. Each secret has at most one pending job, a
one-shot `DateTrigger` at its next due time read from Vault; the job calls
`Rotator.rotate`, which reads the state again, decides, and writes with
check-and-set, and the job then plans the next run from what it returned.
Nothing about the schedule is kept outside Vault, so a restart plans the same
times, and a secret that fell due while the daemon was down is caught up.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from apscheduler.executors.pool import ThreadPoolExecutor as JobExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.date import DateTrigger
from structlog.typing import FilteringBoundLogger

from rotator.clock import SYSTEM_CLOCK, Clock, format_time
from rotator.config import Config, SecretConfig
from rotator.errors import RotatorError
from rotator.generators import SYSTEM_RANDOM, RandomSource
from rotator.rotation import Outcome, RotationResult, Rotator, Trigger
from rotator.schedule import next_fire, retry_delay
from rotator.store import ScheduleState, SecretStore

__all__ = ["Daemon", "plan_first_run"]

#: Overdue and new secrets start at most this many per second after start-up.
CATCHUP_PER_SECOND = 20.0


def plan_first_run(state: ScheduleState | None, now: datetime) -> tuple[datetime, Trigger]:
    """When a secret should first run after start-up, and why. Pure.

    A secret that does not exist yet (or is not managed yet) runs now
    (``initial``); one whose due time has passed runs now (``catchup``); any
    other runs at its due time (``schedule``).
    """
    if state is None or not state.managed or state.next_rotation_at is None:
        return now, Trigger.INITIAL
    if state.next_rotation_at <= now:
        return now, Trigger.CATCHUP
    return state.next_rotation_at, Trigger.SCHEDULE


class Daemon:
    """Runs every configured secret's schedule until `stop` is called."""

    def __init__(
        self,
        config: Config,
        store: SecretStore,
        rotator: Rotator,
        audit: FilteringBoundLogger,
        *,
        clock: Clock = SYSTEM_CLOCK,
        random: RandomSource = SYSTEM_RANDOM,
        workers: int = 8,
    ) -> None:
        self._config = config
        self._secrets = {secret.name: secret for secret in config.secrets}
        self._store = store
        self._rotator = rotator
        self._audit = audit
        self._clock = clock
        self._random = random
        self._workers = workers
        self._scheduler = BackgroundScheduler(
            timezone=UTC,
            executors={"default": JobExecutor(workers)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        self._lock = threading.Lock()
        self._job_ids: dict[str, str] = {}
        self._sequence = itertools.count(1)
        self._stopping = threading.Event()
        self._stopped = False

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> None:
        """Start the scheduler and plan every secret from the state in Vault."""
        self._scheduler.start()
        self._audit.info("daemon.started", secrets=len(self._secrets), workers=self._workers)
        self._plan_all(self._config.secrets)

    def request_stop(self) -> None:
        """Take no new rotation from now on; safe to call from a signal handler."""
        self._stopping.set()

    def stop(self) -> None:
        """Take no new rotation, wait for those in flight, stop the scheduler."""
        self._stopping.set()
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        self._scheduler.shutdown(wait=True)
        self._audit.info("daemon.stopped")

    def run_until_stopped(self) -> None:
        """Start, block until `request_stop`, then stop cleanly."""
        self.start()
        while not self._stopping.wait(0.5):
            pass
        self.stop()

    # -- planning ----------------------------------------------------------

    def _plan_all(self, secrets: Iterable[SecretConfig]) -> None:
        secrets = list(secrets)
        now = self._clock.now()

        def read(secret: SecretConfig) -> tuple[SecretConfig, ScheduleState | None, bool]:
            try:
                return secret, self._store.read_schedule(secret), True
            except RotatorError:
                return secret, None, False

        with ThreadPoolExecutor(max_workers=self._workers) as pool:
            planned = list(pool.map(read, secrets))
        immediate = 0
        for secret, state, readable in planned:
            if not readable:
                # Vault could not say; the job will read again and retry as needed.
                run_at, trigger = now, Trigger.SCHEDULE
            else:
                run_at, trigger = plan_first_run(state, now)
            if run_at <= now:
                run_at = now + timedelta(seconds=immediate / CATCHUP_PER_SECOND)
                immediate += 1
            self._schedule(secret.name, run_at, trigger, attempt=1)

    def _schedule(self, name: str, run_at: datetime, trigger: Trigger, *, attempt: int) -> None:
        with self._lock:
            if self._stopping.is_set():
                return
            old = self._job_ids.pop(name, None)
            if old is not None:
                # JobLookupError: it is the job running now, already off the store.
                with contextlib.suppress(JobLookupError):
                    self._scheduler.remove_job(old)
            job_id = f"{name}#{next(self._sequence)}"
            self._scheduler.add_job(
                self._run,
                trigger=DateTrigger(run_date=run_at),
                args=(name, trigger, attempt),
                id=job_id,
                name=name,
            )
            self._job_ids[name] = job_id

    def next_run_times(self) -> dict[str, datetime]:
        """When each secret's pending job runs (for status pages and tests)."""
        times = {}
        with self._lock:
            for name, job_id in self._job_ids.items():
                job = self._scheduler.get_job(job_id)
                if job is not None and job.next_run_time is not None:
                    times[name] = job.next_run_time
        return times

    # -- one job -----------------------------------------------------------

    def _run(self, name: str, trigger: Trigger, attempt: int) -> None:
        if self._stopping.is_set():
            return
        secret = self._secrets.get(name)
        if secret is None:
            return
        try:
            result = self._rotator.rotate(secret, trigger=trigger, attempt=attempt)
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
            self._schedule(secret.name, now + delay, trigger, attempt=attempt + 1)
            return
        # Permanent failure, or retries used up: try again at the next scheduled
        # time, but no later than max_backoff, so a long period does not leave a
        # secret overdue for a whole period after Vault comes back.
        again = min(next_fire(secret.schedule, now), now + retry.max_backoff)
        self._schedule(secret.name, again, trigger, attempt=1)
