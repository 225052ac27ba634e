"""Start ``python -m sandbox serve`` as a child process and drive its admin API.

Shared by the tests, the benchmarks and the demo, so all three run the
sandboxes exactly the way an operator does.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def port_answers(host: str, port: int) -> bool:
    """Whether something accepts TCP connections on ``host:port`` (a database server, say) within a second."""
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Sandbox:
    """A running ``python -m sandbox serve`` process and helpers to drive its admin API."""

    spapi_url: str
    commerce_url: str
    commerce_db: str
    process: subprocess.Popen
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30))
    #: The EU endpoint (``--spapi-eu-port``; ``spapi_url`` is then the NA one), when started with one.
    spapi_eu_url: str | None = None
    #: The local SQS (``--sqs-port``: moto's server mode), when started with one.
    sqs_url: str | None = None

    def spapi(self, method: str, path: str, **kwargs) -> httpx.Response:
        return self.http.request(method, self.spapi_url + path, **kwargs)

    def commerce(self, method: str, path: str, **kwargs) -> httpx.Response:
        return self.http.request(method, self.commerce_url + path, **kwargs)

    def airflow_connections(self) -> dict[str, dict]:
        """The ``amazon_sp_api``, ``commerce_api`` and ``amazon_pii_key`` connections (Airflow's JSON form) for this sandbox,
        keyed for ``AIRFLOW_CONN_<KEY>`` environment variables."""
        from sandbox import credentials
        from sandbox.catalog import MARKETPLACES

        return {
            "AMAZON_SP_API": {
                "conn_type": "http",
                "host": self.spapi_url,
                "extra": {
                    "lwa_client_id": credentials.LWA_CLIENT_ID,
                    "lwa_client_secret": credentials.LWA_CLIENT_SECRET,
                    "refresh_token": credentials.LWA_REFRESH_TOKEN,
                    "lwa_endpoint": self.spapi_url + "/auth/o2/token",
                    "marketplace_ids": list(MARKETPLACES),
                },
            },
            "COMMERCE_API": {
                "conn_type": "http",
                "host": self.commerce_url,
                "login": credentials.COMMERCE_ADMIN_USER,
                "password": credentials.COMMERCE_ADMIN_PASSWORD,
                "extra": {"store_code": "default", "timeout": 10},
            },
            "AMAZON_PII_KEY": {"conn_type": "generic", "password": credentials.PII_SANDBOX_KEY},
            **({"AWS_DEFAULT": sqs_connection(self.sqs_url)} if self.sqs_url else {}),
        }

    def reset(self) -> None:
        """Both sandboxes back to their seeded defaults: no orders, no faults."""
        for call in (self.spapi, self.commerce):
            call("POST", "/_sandbox/reset").raise_for_status()
            call("PUT", "/_sandbox/faults", json={}).raise_for_status()

    def stop(self) -> None:
        self.http.close()
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def sqs_connection(endpoint: str) -> dict:
    """The ``aws_default`` connection (Airflow's JSON form) of the local SQS at ``endpoint``."""
    from sandbox.sqs import REGION

    return {
        "conn_type": "aws",
        "login": "sandbox",
        "password": "sandbox",
        "extra": {"endpoint_url": endpoint, "region_name": REGION},
    }


def start_sandbox(
    commerce_db: str,
    *extra_args: str,
    spapi_port: int | None = None,
    commerce_port: int | None = None,
    spapi_eu_port: int | None = None,
    sqs_port: int | None = None,
    stdout=None,
) -> Sandbox:
    """Start the sandboxes (on free ports unless given) and wait until both answer their health check.

    With ``spapi_eu_port``, the SP-API sandbox answers as the NA endpoint on ``spapi_port`` and as the EU one there.
    """
    spapi_port, commerce_port = spapi_port or free_port(), commerce_port or free_port()
    if spapi_eu_port:
        extra_args = (*extra_args, "--spapi-eu-port", str(spapi_eu_port))
    if sqs_port:
        extra_args = (*extra_args, "--sqs-port", str(sqs_port))
    cmd = [
        sys.executable, "-m", "sandbox", "serve",
        "--spapi-port", str(spapi_port), "--commerce-port", str(commerce_port),
        "--commerce-db", commerce_db, *extra_args,
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    process = subprocess.Popen(cmd, cwd=PROJECT_ROOT, env=env, stdout=stdout, stderr=stdout)
    box = Sandbox(f"http://127.0.0.1:{spapi_port}", f"http://127.0.0.1:{commerce_port}", commerce_db, process)
    if spapi_eu_port:
        box.spapi_eu_url = f"http://127.0.0.1:{spapi_eu_port}"
    if sqs_port:
        box.sqs_url = f"http://127.0.0.1:{sqs_port}"
    deadline = time.monotonic() + 60
    for url in (box.spapi_url, box.commerce_url, *([box.spapi_eu_url] if box.spapi_eu_url else [])):
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"sandbox exited with {process.returncode}: {' '.join(cmd)}")
            try:
                if httpx.get(url + "/_sandbox/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                box.stop()
                raise RuntimeError("sandbox did not become healthy within 60 s")
            time.sleep(0.2)
    return box
