"""Benchmark: PaymentIntent confirmations over HTTP against ``radarcore serve``, on loopback.

``radarcore serve`` runs as a subprocess (SQLite in a temp dir, the bundled default model, the
default rules and lists; 1 and 2 workers); the load comes from a second process, ``wrk``
(Debian's package; ``.ci/run`` installs it) with ``bench_server.lua``: ``--connections``
keep-alive connections send ``POST /v1/payment_intents`` with ``confirm=true``, a card from a
seeded pool and a Radar Session, as a checkout would, for ``--seconds``. (A Python client such
as httpx costs about 0.5 ms of CPU per request, as much as the server, on this 2-core machine,
so it would mostly measure itself.) Reported: confirmations/s, p50 and p99 latency as the
client sees them, errors (socket errors and any status but 200, and 402 for a payment Radar
blocked). After the server stops, every acknowledged PaymentIntent (200, or 402 naming it in
the error) is read back from the database in its status, with its Charge.

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
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

from radarcore.models import RiskModel
from radarcore.radar import Radar
from radarcore.server.process import serve_process
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


def drive(
    base: str, bodies: list[dict[str, str]], connections: int, seconds: float, directory: Path
) -> dict[str, Any]:
    """Run wrk against ``base``; its summary, status counts and acknowledged ids."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("bench_server.py needs wrk (apt-get install wrk)")
    lines = directory / "bodies.txt"
    lines.write_text("".join(urlencode(body) + "\n" for body in bodies))
    out = directory / "wrk.out"
    script = Path(__file__).with_name("bench_server.lua")
    command = [
        wrk,
        f"-t{min(2, connections)}",
        f"-c{connections}",
        f"-d{seconds:g}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        base,
        "--",
        str(lines),
        SECRET,
    ]
    env = {**os.environ, "WRK_OUT": str(out)}
    subprocess.run(command, check=True, capture_output=True, env=env)
    summary: dict[str, Any] = {"statuses": {}, "ids": []}
    for line in out.read_text().splitlines():
        kind, _, rest = line.partition(" ")
        if kind == "ack":
            pi_id, status = rest.split()
            summary["ids"].append((pi_id, status))
        elif kind == "status":
            code, count = (int(x) for x in rest.split())
            summary["statuses"][code] = summary["statuses"].get(code, 0) + count
        else:
            summary[kind] = int(rest)
    return summary


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


def row(name: str, rate: float, p50_ms: float, p99_ms: float, baseline: float | None) -> str:
    ratio = "1.00x" if baseline is None else f"{rate / baseline:.2f}x"
    return f"| {name} | {rate:,.0f} | {p50_ms:.2f} | {p99_ms:.2f} | {ratio} |"


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
    parser.add_argument("--quick", action="store_true", help="smoke run: one short run each")
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each HTTP run")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--baseline-payments", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    seconds = 1.0 if args.quick else args.seconds
    n_baseline = 100 if args.quick else args.baseline_payments
    print(f"machine: {machine()}")
    print(
        f"wrk, {args.connections} connections, {seconds:g} s per run; SQLite; bundled default "
        "model\n"
    )
    lines = [
        "| path | confirmations/s | p50 ms | p99 ms | rate vs in-process |",
        "|---|---:|---:|---:|---:|",
    ]
    failures = []
    with tempfile.TemporaryDirectory(prefix="radarcore-bench-server-") as tmp:
        directory = Path(tmp)
        baseline = in_process(directory, payments(n_baseline, args.seed, []))
        baseline_rate = n_baseline / baseline["elapsed"]
        lat = baseline["latencies"]
        lines.append(
            row(
                "in-process `radar.payment_intents.create` (baseline)",
                baseline_rate,
                statistics.median(lat) * 1e3,
                quantile(lat, 0.99) * 1e3,
                None,
            )
        )
        for workers in (1, 2):
            url = f"sqlite:///{directory / f'server{workers}.db'}"
            keys = {"RADARCORE_SECRET_KEYS": SECRET, "RADARCORE_PUBLISHABLE_KEYS": PUBLISHABLE}
            log = directory / f"serve{workers}.log"
            with serve_process(url, log=log, workers=workers, env=keys, model=model_path()) as base:
                sessions = make_sessions(base, 20)
                bodies = payments(20_000, args.seed + workers, sessions)
                drive(base, bodies[::97], args.connections, 1.0, directory)  # warm-up
                result = drive(base, bodies, args.connections, seconds, directory)
            missing = verify(url, result["ids"])
            statuses = result["statuses"]
            errors = result["socket_errors"] + sum(
                c for code, c in statuses.items() if code not in (200, 402)
            )
            rate = result["requests"] / (result["duration_us"] / 1e6)
            p50, p99 = result["p50_us"] / 1e3, result["p99_us"] / 1e3
            name = f"HTTP, `radarcore serve --workers {workers}`"
            lines.append(row(name, rate, p50, p99, baseline_rate))
            print(
                f"workers={workers}: statuses {dict(sorted(statuses.items()))}, errors {errors}, "
                f"acknowledged {len(result['ids'])}, missing from the database {missing}"
            )
            met = rate >= TARGET_RATE and p99 <= TARGET_P99_MS and errors == 0
            print(
                f"  target >= {TARGET_RATE:,.0f}/s with p99 <= {TARGET_P99_MS:g} ms, no errors: "
                f"{'met' if met else 'NOT met'}"
            )
            if errors or missing or len(result["ids"]) != result["requests"]:
                failures.append(workers)
    print()
    print("\n".join(lines))
    print(f"\nmachine after the run: {machine()}")
    if failures:
        print(f"errors or lost payments with workers={failures}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
