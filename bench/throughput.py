"""Throughput: `rotator rotate --all` over N KV v2 secrets, beside its baselines.

Baselines, measured in the same run against the same local OpenBao:
- a plain hvac loop making the same Vault calls per secret (read the latest
  version with its metadata, write the new version with check-and-set, write
  the custom metadata) at the same concurrency, twice: as anyone would write
  it, and tuned like rotator's own clients (proxy variables read once, not at
  every request): the limit rotator can approach;
- a shell loop of `bao kv put`, one process per secret: what a cron script does.

Rounds alternate rotator and the hvac loop and the medians are compared, so
that a noisy neighbour hurts both alike. Goals: at least 0.8 of the hvac loop,
and 20 times the shell loop.

    python bench/throughput.py [--secrets 2000] [--concurrency 8] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import secrets as random_secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import hvac
import requests
from _common import REPO, BaoDevServer, bao_binary, machine, write_result


def write_config(path: Path, address: str, token: str, count: int) -> None:
    document = {
        "vault": {"address": address, "auth": {"method": "token", "token": token}},
        "audit": {"stdout": False, "file": str(path.with_suffix(".audit.jsonl")), "format": "json"},
        "server": {"listen": None},
        "secrets": [
            {
                "name": f"s{i:05d}",
                "path": f"bench/rotator/s{i:05d}",
                "generator": {"kind": "token"},
                "schedule": {"every": "30d"},
            }
            for i in range(count)
        ],
    }
    path.write_text(json.dumps(document))


def rotator_round(config: Path, concurrency: int) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "rotator",
            "-c",
            str(config),
            "rotate",
            "--all",
            "--concurrency",
            str(concurrency),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"rotator failed: {done.stdout[-500:]} {done.stderr[-500:]}")


class HvacLoop:
    """The same three Vault calls per secret, with thread-local clients."""

    def __init__(self, address: str, token: str, count: int, *, tuned: bool, prefix: str) -> None:
        self.address, self.token, self.count = address, token, count
        self.tuned, self.prefix = tuned, prefix
        self.local = threading.local()

    def client(self) -> hvac.Client:
        if not hasattr(self.local, "client"):
            session = None
            if self.tuned:
                session = requests.Session()
                session.trust_env = False
            self.local.client = hvac.Client(url=self.address, token=self.token, session=session)
        return self.local.client

    def one(self, index: int) -> None:
        client = self.client()
        path = f"bench/{self.prefix}/s{index:05d}"
        try:
            answer = client.secrets.kv.v2.read_secret_version(
                path=path, raise_on_deleted_version=False
            )["data"]
            version, old = answer["metadata"]["version"], answer["data"]
        except hvac.exceptions.InvalidPath:
            version, old = 0, {"current": ""}
        value = random_secrets.token_urlsafe(32)
        data = {
            "current": value,
            "kid": random_secrets.token_hex(6),
            "previous": old.get("current", ""),
            "keyring": [{"value": value}],
        }
        client.secrets.kv.v2.create_or_update_secret(path=path, secret=data, cas=version)
        client.adapter.post(
            f"/v1/secret/metadata/{path}",
            json={"custom_metadata": {"managed-by": "bench"}, "max_versions": 10},
        )

    def round(self, concurrency: int) -> None:
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            list(pool.map(self.one, range(self.count)))


def shell_rate(address: str, token: str, sample: int) -> float:
    env = {
        "VAULT_ADDR": address,
        "VAULT_TOKEN": token,
        "BAO_ADDR": address,
        "BAO_TOKEN": token,
        "HOME": tempfile.gettempdir(),
    }
    bao = bao_binary()
    started = time.perf_counter()
    for index in range(sample):
        subprocess.run(
            [
                bao,
                "kv",
                "put",
                "-mount=secret",
                f"bench/shell/s{index:05d}",
                f"current={random_secrets.token_urlsafe(32)}",
            ],
            env=env,
            capture_output=True,
            check=True,
        )
    return sample / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--secrets", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--shell-sample", type=int, default=200)
    args = parser.parse_args()

    server = BaoDevServer().start()
    try:
        folder = REPO / "bench" / "results"
        folder.mkdir(parents=True, exist_ok=True)
        config = folder / "throughput-config.json"
        write_config(config, server.address, server.token, args.secrets)
        plain = HvacLoop(server.address, server.token, args.secrets, tuned=False, prefix="plain")
        tuned = HvacLoop(server.address, server.token, args.secrets, tuned=True, prefix="tuned")
        # Every side starts from existing secrets (the first write is not timed).
        rotator_round(config, args.concurrency)
        plain.round(args.concurrency)
        tuned.round(args.concurrency)

        rotator_times: list[float] = []
        plain_times: list[float] = []
        tuned_times: list[float] = []
        for _ in range(args.rounds):
            for times, run in (
                (rotator_times, lambda: rotator_round(config, args.concurrency)),
                (plain_times, lambda: plain.round(args.concurrency)),
                (tuned_times, lambda: tuned.round(args.concurrency)),
            ):
                started = time.perf_counter()
                run()
                times.append(time.perf_counter() - started)
        shell = shell_rate(server.address, server.token, args.shell_sample)
    finally:
        server.stop()

    rotator_rate = args.secrets / statistics.median(rotator_times)
    plain_rate = args.secrets / statistics.median(plain_times)
    hvac_rate = args.secrets / statistics.median(tuned_times)
    result = {
        "secrets": args.secrets,
        "concurrency": args.concurrency,
        "rounds": args.rounds,
        "rotator_seconds": rotator_times,
        "hvac_loop_plain_seconds": plain_times,
        "hvac_loop_tuned_seconds": tuned_times,
        "rotator_per_second": round(rotator_rate, 1),
        "hvac_loop_plain_per_second": round(plain_rate, 1),
        "hvac_loop_tuned_per_second": round(hvac_rate, 1),
        "shell_loop_per_second": round(shell, 2),
        "ratio_to_hvac_loop": round(rotator_rate / plain_rate, 3),
        "ratio_to_hvac_loop_tuned": round(rotator_rate / hvac_rate, 3),
        "ratio_to_shell_loop": round(rotator_rate / shell, 1),
        "goals": {"ratio_to_hvac_loop": 0.8, "ratio_to_shell_loop": 20},
    }
    path = write_result("throughput", result)
    cores = machine()["cores"]
    print(
        f"throughput: {args.secrets} KV v2 rotations, concurrency {args.concurrency}, "
        f"{cores} cores, median of {args.rounds} rounds"
    )
    print(f"  rotator rotate --all   : {rotator_rate:8.1f} rotations/s (process start included)")
    print(f"  hvac loop, tuned       : {hvac_rate:8.1f} rotations/s (the same calls)")
    print(f"  hvac loop, plain       : {plain_rate:8.1f} rotations/s")
    print(f"  shell loop (bao kv put): {shell:8.2f} writes/s ({args.shell_sample} sampled)")
    print(
        f"  ratio to hvac loop  : {rotator_rate / plain_rate:.3f}  (goal >= 0.8; "
        f"{rotator_rate / hvac_rate:.3f} to the tuned one)"
    )
    print(f"  ratio to shell loop : {rotator_rate / shell:.1f}  (goal >= 20)")
    print(f"  result: {path}")


if __name__ == "__main__":
    main()
