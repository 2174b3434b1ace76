"""Benchmark: PaymentIntent confirmations over HTTP against ``radarcore serve``, on loopback.

``radarcore serve`` runs as a subprocess (SQLite in a temp dir, the bundled default model, the
default rules and lists; 1 and 2 workers); this process is the client: ``--threads`` threads,
each with its own keep-alive ``httpx`` connection, send ``POST /v1/payment_intents`` with
``confirm=true``, a card from a seeded pool and a Radar Session, as a checkout would. Reported:
confirmations/s, p50 and p99 latency as the client sees it, errors (anything but 200, and 402
for a payment Radar blocked). After the server stops, every acknowledged PaymentIntent (200, or
402 naming it in the error) is read back from the database in its status, with its Charge.

Baseline, in the same run: the same confirmations made in-process
(``radar.payment_intents.create(...)`` on its own SQLite file), one at a time: what a gateway
embedding the engine gets, so the ratio is the cost of the HTTP layer.

Seeded. ``python bench/bench_server.py`` (``--quick`` for a smoke run).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from importlib import resources
from pathlib import Path
from typing import Any

import httpx

from radarcore.models import RiskModel
from radarcore.radar import Radar
from radarcore.store import open_store

SECRET = "sk_test_bench"
PUBLISHABLE = "pk_test_bench"
TARGET_RATE = 1000.0
TARGET_P99_MS = 10.0


def luhn_card(rng: random.Random) -> str:
    digits = [4] + [rng.randrange(10) for _ in range(14)]
    total = 0
    for i, d in enumerate(reversed(digits)):
        d = d * 2 if i % 2 == 0 else d
        total += d - 9 if d > 9 else d
    return "".join(map(str, digits)) + str((10 - total % 10) % 10)


def payments(n: int, seed: int, sessions: list[str]) -> list[dict[str, str]]:
    rng = random.Random(seed)
    cards = [luhn_card(rng) for _ in range(max(10, n // 20))]
    out = []
    for _ in range(n):
        body = {
            "amount": str(rng.randrange(500, 20_000)),
            "currency": "usd",
            "confirm": "true",
            "payment_method_data[type]": "card",
            "payment_method_data[card][number]": rng.choice(cards),
            "payment_method_data[card][exp_month]": "12",
            "payment_method_data[card][exp_year]": "2031",
            "payment_method_data[billing_details][email]": f"buyer{rng.randrange(n)}@example.com",
        }
        if sessions:
            body["radar_options[session]"] = rng.choice(sessions)
        out.append(body)
    return out


def model_path() -> str:
    return str(resources.files("radarcore") / "data" / "default_model.rcm")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(url: str, workers: int, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "RADARCORE_SECRET_KEYS": SECRET,
        "RADARCORE_PUBLISHABLE_KEYS": PUBLISHABLE,
        "RADARCORE_LOG_LEVEL": "WARNING",
    }
    command = [
        sys.executable,
        "-m",
        "radarcore.cli",
        "serve",
        "--port",
        str(port),
        "--database-url",
        url,
        "--model",
        model_path(),
        "--workers",
        str(workers),
    ]
    output = log.open("wb")
    process = subprocess.Popen(command, env=env, stdout=output, stderr=output)
    base = f"http://127.0.0.1:{port}"
    seen: set[int] = set()
    deadline = time.monotonic() + 120
    while len(seen) < workers:
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("radarcore serve did not start:\n" + log.read_text()[-3000:])
        try:
            seen.add(httpx.get(base + "/healthz", timeout=2).json()["pid"])
        except httpx.HTTPError:
            time.sleep(0.1)
    return process, base


def make_sessions(base: str, n: int) -> list[str]:
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {PUBLISHABLE}"}) as http:
        return [
            http.post(
                "/v1/radar/sessions",
                data={
                    "ip_address": f"203.0.113.{i % 250}",
                    "user_agent": "Mozilla/5.0 bench",
                    "device_id": f"dev_{i}",
                },
            ).json()["id"]
            for i in range(n)
        ]


def drive(base: str, bodies: list[dict[str, str]], threads: int) -> dict[str, Any]:
    """Send every body once, spread over ``threads`` keep-alive connections."""
    latencies: list[float] = []
    acknowledged: list[tuple[str, str]] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()

    def work(chunk: list[dict[str, str]]) -> None:
        mine: list[float] = []
        ids: list[tuple[str, str]] = []
        codes: dict[int, int] = {}
        headers = {"Authorization": f"Bearer {SECRET}"}
        with httpx.Client(base_url=base, headers=headers, timeout=30) as http:
            for body in chunk:
                began = time.perf_counter()
                response = http.post("/v1/payment_intents", data=body)
                mine.append(time.perf_counter() - began)
                codes[response.status_code] = codes.get(response.status_code, 0) + 1
                if response.status_code == 200:
                    ids.append((response.json()["id"], "succeeded"))
                elif response.status_code == 402:
                    blocked = response.json()["error"]["payment_intent"]["id"]
                    ids.append((blocked, "requires_payment_method"))
        with lock:
            latencies.extend(mine)
            acknowledged.extend(ids)
            for code, count in codes.items():
                statuses[code] = statuses.get(code, 0) + count

    chunks = [bodies[i::threads] for i in range(threads)]
    workers = [threading.Thread(target=work, args=(c,)) for c in chunks]
    began = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - began
    return {"elapsed": elapsed, "latencies": latencies, "ids": acknowledged, "statuses": statuses}


def verify(url: str, ids: list[tuple[str, str]]) -> int:
    """How many acknowledged PaymentIntents (paid: 200, blocked: 402) are missing from the
    database, in another status or without their Charge."""
    store = open_store(url)
    try:
        missing = 0
        for pi_id, status in ids:
            pi = store.get(pi_id)
            charge_id = getattr(pi, "latest_charge", None)
            if (
                pi is None
                or getattr(pi, "status", None) != status
                or charge_id is None
                or store.get(charge_id) is None
            ):
                missing += 1
        return missing
    finally:
        store.close()


def in_process(directory: Path, bodies: list[dict[str, str]]) -> dict[str, Any]:
    from radarcore.errors import CardError

    bundle = RiskModel.load(model_path())
    url = f"sqlite:///{directory / 'inprocess.db'}"
    latencies = []
    with Radar(url, model=bundle.forest, calibration=bundle.calibration) as radar:
        sessions = [
            radar.radar_sessions.create(
                ip_address=f"203.0.113.{i}", user_agent="Mozilla/5.0", device_id=f"dev_{i}"
            ).id
            for i in range(20)
        ]
        rng = random.Random(1)
        began = time.perf_counter()
        for body in bodies:
            params = {
                k: v
                for k, v in body.items()
                if not k.startswith(("payment_method_data", "radar_options"))
            }
            params["payment_method_data"] = {
                "type": "card",
                "card": {
                    "number": body["payment_method_data[card][number]"],
                    "exp_month": 12,
                    "exp_year": 2031,
                },
                "billing_details": {"email": body["payment_method_data[billing_details][email]"]},
            }
            params["radar_options"] = {"session": rng.choice(sessions)}
            start = time.perf_counter()
            with contextlib.suppress(CardError):
                radar.payment_intents.create(params)
            latencies.append(time.perf_counter() - start)
        elapsed = time.perf_counter() - began
    return {"elapsed": elapsed, "latencies": latencies}


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def row(name: str, n: int, result: dict[str, Any], baseline_rate: float | None) -> str:
    rate = n / result["elapsed"]
    lat = result["latencies"]
    ratio = "1.00x" if baseline_rate is None else f"{rate / baseline_rate:.2f}x"
    return (
        f"| {name} | {rate:,.0f} | {statistics.median(lat) * 1e3:.2f} | "
        f"{quantile(lat, 0.99) * 1e3:.2f} | {ratio} |"
    )


def machine() -> str:
    flags = ""
    try:
        text = Path("/proc/cpuinfo").read_text()
        found = [f for f in ("avx2", "avx512f", "asimd") if f" {f}" in text]
        flags = " ".join(found)
    except OSError:
        pass
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{platform.machine()} {flags}, nproc {os.cpu_count()}, load average {load}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: few requests")
    parser.add_argument("--payments", type=int, default=6000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    n = 60 if args.quick else args.payments
    threads = 2 if args.quick else args.threads
    worker_counts = [1, 2]
    print(f"machine: {machine()}")
    print(f"{n} confirmations per run, {threads} client threads, SQLite, bundled default model\n")
    lines = [
        "| path | confirmations/s | p50 ms | p99 ms | rate vs in-process |",
        "|---|---:|---:|---:|---:|",
    ]
    failures = []
    with tempfile.TemporaryDirectory(prefix="radarcore-bench-server-") as tmp:
        directory = Path(tmp)
        base_bodies = payments(n, args.seed, [])
        baseline = in_process(directory, base_bodies)
        baseline_rate = n / baseline["elapsed"]
        lines.append(row("in-process `radar.payment_intents.create` (baseline)", n, baseline, None))
        for workers in worker_counts:
            url = f"sqlite:///{directory / f'server{workers}.db'}"
            process, base = start_server(url, workers, directory / f"serve{workers}.log")
            try:
                sessions = make_sessions(base, 20)
                bodies = payments(n, args.seed + workers, sessions)
                drive(base, bodies[: max(10, n // 20)], threads)  # warm-up, not counted
                result = drive(base, bodies, threads)
            finally:
                process.terminate()
                process.wait(60)
            missing = verify(url, result["ids"])
            statuses = result["statuses"]
            errors = sum(c for s, c in statuses.items() if s not in (200, 402))
            lines.append(
                row(f"HTTP, `radarcore serve --workers {workers}`", n, result, baseline_rate)
            )
            print(
                f"workers={workers}: statuses {dict(sorted(statuses.items()))}, errors {errors}, "
                f"acknowledged {len(result['ids'])}, missing from the database {missing}"
            )
            if errors or missing:
                failures.append(workers)
            rate = n / result["elapsed"]
            p99 = quantile(result["latencies"], 0.99) * 1e3
            print(
                f"  target >= {TARGET_RATE:,.0f}/s with p99 <= {TARGET_P99_MS} ms: "
                f"{'met' if rate >= TARGET_RATE and p99 <= TARGET_P99_MS else 'NOT met'}"
            )
    print()
    print("\n".join(lines))
    print(f"\nmachine after the run: {machine()}")
    if failures:
        print(f"errors or lost payments with workers={failures}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
