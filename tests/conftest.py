"""Shared fixtures: real sandboxes over HTTP, the published specs, real databases."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SPECS_DIR = PROJECT_ROOT.parent / "shared" / "specs"


def free_port() -> int:
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

    def spapi(self, method: str, path: str, **kwargs) -> httpx.Response:
        return self.http.request(method, self.spapi_url + path, **kwargs)

    def commerce(self, method: str, path: str, **kwargs) -> httpx.Response:
        return self.http.request(method, self.commerce_url + path, **kwargs)

    def reset(self) -> None:
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


def start_sandbox(commerce_db: str, *extra_args: str) -> Sandbox:
    """Start the sandboxes on free ports and wait until both answer their health check."""
    spapi_port, commerce_port = free_port(), free_port()
    cmd = [
        sys.executable, "-m", "sandbox", "serve",
        "--spapi-port", str(spapi_port), "--commerce-port", str(commerce_port),
        "--commerce-db", commerce_db, *extra_args,
    ]  # fmt: skip
    process = subprocess.Popen(cmd, cwd=PROJECT_ROOT, env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)})
    box = Sandbox(f"http://127.0.0.1:{spapi_port}", f"http://127.0.0.1:{commerce_port}", commerce_db, process)
    deadline = time.monotonic() + 60
    for url in (box.spapi_url, box.commerce_url):
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


@pytest.fixture(scope="session")
def sandbox_session(tmp_path_factory) -> Iterator[Sandbox]:
    db = tmp_path_factory.mktemp("commerce") / "commerce.db"
    box = start_sandbox(f"sqlite:///{db}")
    yield box
    box.stop()


@pytest.fixture
def sandbox(sandbox_session: Sandbox) -> Sandbox:
    """The shared sandboxes, reset to their seeded defaults (no orders, no faults) for each test."""
    sandbox_session.reset()
    return sandbox_session


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def mariadb_url() -> str:
    """A fresh database on the local MariaDB server (skips where none runs)."""
    if not _reachable("127.0.0.1", 3306):
        pytest.skip("MariaDB is not running on 127.0.0.1:3306")
    import pymysql

    name = f"acs_test_{os.getpid()}"
    conn = pymysql.connect(host="127.0.0.1", user="root", password="")
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {name}")
        cur.execute(f"CREATE DATABASE {name} CHARACTER SET utf8mb4")
    conn.close()
    return f"mysql+pymysql://root@127.0.0.1:3306/{name}"


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """A fresh database on the local PostgreSQL server (skips where none runs)."""
    if not _reachable("127.0.0.1", 5432):
        pytest.skip("PostgreSQL is not running on 127.0.0.1:5432")
    import psycopg2

    name = f"acs_test_{os.getpid()}"
    conn = psycopg2.connect(host="127.0.0.1", user="postgres", dbname="postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {name}")
        cur.execute(f"CREATE DATABASE {name}")
    conn.close()
    return f"postgresql+psycopg2://postgres@127.0.0.1:5432/{name}"


@pytest.fixture(scope="session")
def specs_dir() -> Path:
    """The published API specs in ../shared/specs (skips where that folder is absent)."""
    if not SPECS_DIR.is_dir():
        pytest.skip(f"published specs not found at {SPECS_DIR}")
    return SPECS_DIR
