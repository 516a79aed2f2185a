"""Scale: one daemon carrying N configured secrets (default 100,000).

Measures, against a local OpenBao seeded with N managed secrets:
- config load and validation, in a fresh process (the config as JSON, which
  is YAML too, and as YAML proper);
- planning: from `rotator run` starting to every secret planned
  (`daemon.planned`), beside a plain hvac loop reading the same N metadata
  records at the same concurrency;
- the daemon's resident memory once planned, and its CPU use while idle;
- `--hot` secrets (default 1,000) falling due within the same minute: the
  delay from each one's due time to its `rotation.started`.

Goals: load under 10 s; planning within 1.5 times the hvac loop; under
400 MB resident; idle under 2 % of a core; 99th percentile delay under 1 s.

    python bench/scale.py [--secrets 100000] [--hot 1000] [--workers 8]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import hvac
import yaml
from _common import REPO, BaoDevServer, write_result

from rotator.config import load_config
from rotator.generators import TokenGenerator
from rotator.record import KeyEntry, SecretRecord
from rotator.vault import KV2Store, VaultConnection

RESULTS = REPO / "bench" / "results"


def config_document(address: str, token: str, count: int, workers: int) -> dict[str, Any]:
    return {
        "vault": {"address": address, "auth": {"method": "token", "token": token}},
        "defaults": {"generator": {"kind": "token"}, "schedule": {"every": "30d"}},
        "audit": {"stdout": False, "file": str(RESULTS / "scale-audit.jsonl"), "format": "json"},
        "server": {"listen": None},
        "scheduler": {"workers": workers, "catchup_per_second": 1000},
        "secrets": [{"name": f"s{i:06d}", "path": f"scale/s{i:06d}"} for i in range(count)],
    }


def timed_load(path: Path) -> float:
    code = (
        "import time, sys; from rotator.config import load_config; "
        "t = time.perf_counter(); load_config(sys.argv[1]); print(time.perf_counter() - t)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    return float(done.stdout.strip())


def seed(config_path: Path, hot: int, hot_start: datetime) -> dict[str, datetime]:
    """Write every secret in rotator's layout; the first `hot` fall due in one minute."""
    config = load_config(config_path)
    store = KV2Store(VaultConnection(config.vault))
    now = datetime.now(UTC).replace(microsecond=0)
    generator = TokenGenerator()
    due: dict[str, datetime] = {}

    def write(index: int) -> None:
        secret = config.secrets[index]
        if index < hot:
            next_at = hot_start + timedelta(seconds=60 * index / hot)
            due[secret.name] = next_at.replace(microsecond=0)
        else:
            next_at = now + timedelta(days=1 + index % 20)
        entry = KeyEntry.from_generated(generator.generate(), kid=uuid.uuid4().hex[:12], now=now)
        record = SecretRecord.first(entry, now=now, next_rotation_at=next_at.replace(microsecond=0))
        store.write(secret, record, read=store.read(secret), rotation_id=str(uuid.uuid4()))

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(write, range(len(config.secrets))))
    return due


def hvac_metadata_loop(address: str, token: str, count: int, workers: int) -> float:
    local = threading.local()

    def read(index: int) -> None:
        if not hasattr(local, "client"):
            local.client = hvac.Client(url=address, token=token)
        local.client.secrets.kv.v2.read_secret_metadata(path=f"scale/s{index:06d}")

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(read, range(count)))
    return time.perf_counter() - started


def proc_stat(pid: int) -> tuple[float, float]:
    """(resident MB, CPU seconds used) of a process."""
    status = Path(f"/proc/{pid}/status").read_text()
    rss_kb = int(status.split("VmRSS:")[1].split()[0])
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return rss_kb / 1024, (int(fields[11]) + int(fields[12])) / ticks


def audit_events(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def main() -> None:  # noqa: PLR0915 (a benchmark is a script)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--secrets", type=int, default=100_000)
    parser.add_argument("--hot", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--idle-seconds", type=float, default=20.0)
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    audit = RESULTS / "scale-audit.jsonl"
    audit.unlink(missing_ok=True)

    server = BaoDevServer().start()
    daemon: subprocess.Popen[bytes] | None = None
    try:
        document = config_document(server.address, server.token, args.secrets, args.workers)
        json_path = RESULTS / "scale-config.json"
        yaml_path = RESULTS / "scale-config.yaml"
        json_path.write_text(json.dumps(document))
        dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
        yaml_path.write_text(yaml.dump(document, Dumper=dumper))
        load_json = timed_load(json_path)
        load_yaml = timed_load(yaml_path)
        print(f"config load: {load_json:.2f} s as JSON, {load_yaml:.2f} s as YAML", flush=True)

        # The hot minute starts after seeding and planning; planning is estimated
        # from a first pass of the hvac loop over what is seeded.
        started = time.perf_counter()
        far = datetime.now(UTC) + timedelta(days=365)
        seed(json_path, 0, far)  # everything cold first, to time the baseline
        seeded_seconds = time.perf_counter() - started
        base = hvac_metadata_loop(server.address, server.token, args.secrets, args.workers)
        print(
            f"seeded {args.secrets} in {seeded_seconds:.0f} s; hvac metadata loop {base:.2f} s",
            flush=True,
        )
        hot_start = datetime.now(UTC) + timedelta(seconds=3 * base + 60)
        hot_config = RESULTS / "scale-hot.json"
        hot_config.write_text(json.dumps({**document, "secrets": document["secrets"][: args.hot]}))
        due = seed(hot_config, args.hot, hot_start)

        launched = time.perf_counter()
        daemon = subprocess.Popen(
            [sys.executable, "-m", "rotator", "-c", str(json_path), "run"],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        planned = None
        while planned is None:
            time.sleep(0.2)
            found = [e for e in audit_events(audit) if e["event"] == "daemon.planned"]
            planned = found[0] if found else None
            if daemon.poll() is not None:
                raise SystemExit("the daemon stopped")
        plan_wall = time.perf_counter() - launched
        rss_planned, cpu_before = proc_stat(daemon.pid)
        print(
            f"planned in {plan_wall:.2f} s from launch (planning itself "
            f"{planned['duration_ms'] / 1000:.2f} s); {rss_planned:.0f} MB",
            flush=True,
        )
        time.sleep(args.idle_seconds)
        rss_idle, cpu_after = proc_stat(daemon.pid)
        idle_share = (cpu_after - cpu_before) / args.idle_seconds
        print(
            f"idle: {100 * idle_share:.2f} % of a core over {args.idle_seconds:.0f} s", flush=True
        )
        if datetime.now(UTC) > hot_start:
            print("warning: planning ran into the hot minute; its delays include the start-up")
        wait = (hot_start + timedelta(seconds=70) - datetime.now(UTC)).total_seconds()
        time.sleep(max(0.0, wait))
        deadline = time.monotonic() + 120
        delays: list[float] = []
        while time.monotonic() < deadline:
            started_events = {
                e["secret"]: e["timestamp"]
                for e in audit_events(audit)
                if e["event"] == "rotation.started" and e["secret"] in due
            }
            if len(started_events) >= len(due):
                break
            time.sleep(1)
        delays = sorted(
            (datetime.fromisoformat(stamp) - due[name]).total_seconds()
            for name, stamp in started_events.items()
        )
        rss_end, _ = proc_stat(daemon.pid)
    finally:
        if daemon is not None:
            daemon.terminate()
            daemon.wait(timeout=60)
        server.stop()

    p99 = delays[min(len(delays) - 1, int(len(delays) * 0.99))] if delays else float("nan")
    result = {
        "secrets": args.secrets,
        "workers": args.workers,
        "config_load_seconds_json": round(load_json, 2),
        "config_load_seconds_yaml": round(load_yaml, 2),
        "hvac_metadata_loop_seconds": round(base, 2),
        "planning_seconds_from_launch": round(plan_wall, 2),
        "planning_seconds_inside_daemon": planned["duration_ms"] / 1000,
        "planning_ratio_to_hvac_loop": round(plan_wall / base, 2),
        "resident_mb_planned": round(rss_planned, 1),
        "resident_mb_idle": round(rss_idle, 1),
        "resident_mb_after_hot_minute": round(rss_end, 1),
        "idle_cpu_share_of_a_core": round(idle_share, 4),
        "hot_secrets": args.hot,
        "hot_rotations_started": len(delays),
        "delay_seconds_p50": round(statistics.median(delays), 3) if delays else None,
        "delay_seconds_p99": round(p99, 3),
        "delay_seconds_max": round(delays[-1], 3) if delays else None,
        "goals": {
            "config_load_seconds": 10,
            "planning_ratio_to_hvac_loop": 1.5,
            "resident_mb": 400,
            "idle_cpu_share_of_a_core": 0.02,
            "delay_seconds_p99": 1,
        },
    }
    path = write_result("scale", result)
    print(json.dumps(result, indent=2))
    print(f"result: {path}")


if __name__ == "__main__":
    main()
