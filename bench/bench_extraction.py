"""Extraction benchmark: how close does the paced SP-API client get to the usage-plan lower bound?

Run from the project root: ``python -m bench.bench_extraction`` (``--help`` for options).

It starts the sandboxes itself (or uses ``--spapi-url``), generates 2,000 orders,
switches the sandbox to the *scaled* usage plan (searchOrders' rate multiplied by
``--factor``, burst kept at 20, the same shape as production in seconds instead
of hours) and extracts every order with :class:`include.clients.amazon.client.SpApiClient`.

The lower bound: Amazon's token bucket accepts at most ``b0`` requests at once
(the tokens in the bucket when we start) and then one every ``1/r`` seconds, so
``N`` accepted requests cannot complete in less than ``max(0, (N - b0) / r)``
seconds, whatever the client does. Two scenarios:

* ``fresh``: a full bucket (``b0`` = burst = 20); small pages (``--page-size``,
  default 20 → 100 requests) make the run quota-bound.
* ``drained``: another process has just emptied the bucket (we drain it with raw
  requests until Amazon answers 429, so ``b0 < 1 + r * (time since that 429)``);
  the client does not know and starts with a full local bucket, so it pays one
  429 and one refill interval to find out. Same page size.

The ratio wall/bound is the figure of merit (target <= 1.10); 429s are counted.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import httpx

from include.clients.amazon.client import SpApiClient, format_timestamp
from sandbox import credentials

MARKETPLACE_IDS = ["ATVPDKIKX0DER", "A2EUQ1WTGCTBG2", "A1AM78C64UM0Y8"]
TARGET_RATIO = 1.10


@dataclass
class Result:
    scenario: str
    page_size: int
    requests: int  # accepted searchOrders calls
    orders: int
    complete: bool  # every generated order exactly once
    wall_s: float
    bound_s: float
    throttled: int
    retries: int

    @property
    def ratio(self) -> float:
        return self.wall_s / self.bound_s if self.bound_s > 0 else math.inf


def admin(http: httpx.Client, method: str, path: str, **kwargs) -> dict:
    response = http.request(method, path, **kwargs)
    response.raise_for_status()
    return response.json()


def new_client(url: str) -> SpApiClient:
    return SpApiClient(
        url,
        lwa_endpoint=url + "/auth/o2/token",
        client_id=credentials.LWA_CLIENT_ID,
        client_secret=credentials.LWA_CLIENT_SECRET,
        refresh_token=credentials.LWA_REFRESH_TOKEN,
    )


def extract(client: SpApiClient, created_after: datetime, page_size: int) -> tuple[list[str], float]:
    """Every order id of the window, and the wall time of the extraction."""
    ids: list[str] = []
    started = time.perf_counter()
    for page in client.search_orders(
        marketplace_ids=MARKETPLACE_IDS, created_after=created_after, max_results_per_page=page_size
    ):
        ids.extend(o["orderId"] for o in page)
    return ids, time.perf_counter() - started


def drain_bucket(url: str, created_after: datetime) -> float:
    """Spend searchOrders tokens with raw requests until the first 429; return when that 429 arrived."""
    token = httpx.post(
        url + "/auth/o2/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": credentials.LWA_REFRESH_TOKEN,
            "client_id": credentials.LWA_CLIENT_ID,
            "client_secret": credentials.LWA_CLIENT_SECRET,
        },
    ).json()["access_token"]
    params = {"marketplaceIds": ",".join(MARKETPLACE_IDS), "createdAfter": format_timestamp(created_after),
              "maxResultsPerPage": 1}  # fmt: skip
    with httpx.Client(base_url=url, headers={"x-amz-access-token": token}) as http:
        for _ in range(10_000):
            if http.get("/orders/2026-01-01/orders", params=params).status_code == 429:
                return time.perf_counter()
    raise RuntimeError("the sandbox never throttled: are rate limits on?")


def run(url: str, orders: int, page_size: int, factor: float, scenarios: list[str], seed: int) -> list[Result]:
    results: list[Result] = []
    with httpx.Client(base_url=url, timeout=120) as http:
        admin(http, "POST", "/_sandbox/reset")
        admin(http, "PUT", "/_sandbox/rate-limits", json={"mode": "off"})
        admin(http, "POST", "/_sandbox/orders/generate", json={"count": orders, "hours": 24, "seed": seed})
        now = datetime.fromisoformat(admin(http, "GET", "/_sandbox/clock")["now"]) + timedelta(minutes=10)
        admin(http, "PUT", "/_sandbox/clock", json={"now": format_timestamp(now)})  # every order is > 2 min old
        expected = {row["orderId"] for row in admin(http, "GET", "/_sandbox/orders")["orders"]}
        created_after = now - timedelta(hours=25)

        for scenario in scenarios:
            plans = admin(http, "PUT", "/_sandbox/rate-limits", json={"mode": "scaled", "factor": factor})["plans"]
            rate, burst = plans["searchOrders"]["rate"], plans["searchOrders"]["burst"]
            size = page_size
            with new_client(url) as client:
                client.authenticate()  # LWA is not metered by the usage plan: keep it out of the timing
                if scenario == "fresh":
                    ids, wall = extract(client, created_after, size)
                    tokens_at_start = float(burst)
                else:
                    throttled_at = drain_bucket(url, created_after)
                    started = time.perf_counter()
                    ids, wall = extract(client, created_after, size)
                    tokens_at_start = min(float(burst), 1.0 + (started - throttled_at) * rate)
                stats = client.stats
            accepted = stats.requests - stats.throttled - stats.server_errors
            bound = max(0.0, (accepted - tokens_at_start) / rate)
            results.append(
                Result(
                    scenario,
                    size,
                    accepted,
                    len(ids),
                    len(ids) == len(set(ids)) and set(ids) == expected,
                    wall,
                    bound,
                    stats.throttled,
                    stats.retries,
                )  # fmt: skip
            )
    return results


def report(results: list[Result], orders: int, factor: float) -> bool:
    rate = 0.0056 * factor
    print(f"\nSP-API extraction benchmark: {orders} orders, scaled usage plan searchOrders rate "
          f"{rate:g}/s (0.0056 x {factor:g}), burst 20")  # fmt: skip
    print("lower bound = (accepted requests - tokens in the bucket at start) / rate\n")
    header = f"{'scenario':<9} {'page':>4} {'requests':>8} {'orders':>6} {'complete':>8} {'wall s':>7} {'bound s':>7} {'ratio':>6} {'429s':>5} {'retries':>7}"
    print(header)
    print("-" * len(header))
    ok = True
    for r in results:
        print(f"{r.scenario:<9} {r.page_size:>4} {r.requests:>8} {r.orders:>6} {str(r.complete):>8} "
              f"{r.wall_s:>7.2f} {r.bound_s:>7.2f} {r.ratio:>6.3f} {r.throttled:>5} {r.retries:>7}")  # fmt: skip
        ok = ok and r.complete and r.ratio <= TARGET_RATIO
    print(f"\n{'PASS' if ok else 'FAIL'}: target ratio <= {TARGET_RATIO:.2f}, every order exactly once")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_extraction", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--orders", type=int, default=2000, help="orders to generate (default: %(default)s)")
    parser.add_argument(
        "--page-size",
        type=int,
        default=20,
        help="maxResultsPerPage (default: %(default)s → 100 requests for 2,000 orders)",
    )
    parser.add_argument(
        "--factor", type=float, default=500, help="scaled-plan rate multiplier (default: %(default)s → 2.8 req/s)"
    )
    parser.add_argument("--scenario", choices=["fresh", "drained", "both"], default="both")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--spapi-url", help="use an already running SP-API sandbox instead of starting one")
    args = parser.parse_args(argv)
    scenarios = ["fresh", "drained"] if args.scenario == "both" else [args.scenario]

    box = None
    url = args.spapi_url
    if url is None:
        from sandbox.process import start_sandbox

        tmp = tempfile.mkdtemp(prefix="bench-extraction-")
        box = start_sandbox(f"sqlite:///{Path(tmp) / 'commerce.db'}")
        url = box.spapi_url
    try:
        results = run(url.rstrip("/"), args.orders, args.page_size, args.factor, scenarios, args.seed)
    finally:
        if box is not None:
            box.stop()
    return 0 if report(results, args.orders, args.factor) else 1


if __name__ == "__main__":
    sys.exit(main())
