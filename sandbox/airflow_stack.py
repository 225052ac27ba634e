"""Airflow's components as subprocesses on one Airflow home, listening on 127.0.0.1 only.

What ``airflow standalone`` starts (DAG processor, scheduler, triggerer, API
server with the LocalExecutor), but without its one exposure: in Airflow 3.3 the
scheduler and the triggerer each start a log server that binds every interface
(``:8793``, ``:8794``), and Airflow has no setting for that address. Here both run
with ``--skip-serve-logs`` and Airflow's own log-server app runs on 127.0.0.1
instead, on the configured ports; tasks record ``127.0.0.1`` as their host
(``[core] hostname_callable``), so the API server reads a running task's log
from there.

With ``workers`` > 0 and ``AIRFLOW__CORE__EXECUTOR=CeleryExecutor`` it is a Celery
deployment instead (``scripts/airflow-celery``): the same components plus N
``airflow celery worker`` processes (Redis broker, PostgreSQL result backend:
:func:`celery_env`), each with a name of its own (``celery-1``, ``celery-2``…) that
its tasks record as their host, so the task instances show which worker ran them.

Shared by ``scripts/airflow-ui`` and ``scripts/airflow-celery`` (``python -m
sandbox.airflow_stack run``) and the tests that need a real Airflow (backfills,
Celery workers, the browser test), so both run Airflow the way an operator does.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, text

from sandbox.process import free_port

PROJECT_ROOT = Path(__file__).resolve().parent.parent
#: This module's import name (also when it runs as ``python -m``).
MODULE = "sandbox.airflow_stack"
LOOPBACK = "127.0.0.1"
#: Airflow's long-running components, in start order.
COMPONENTS = ("dag-processor", "scheduler", "triggerer", "api-server")
#: Our loopback log servers, by the ``[logging]`` option that holds each one's port.
LOG_SERVERS = {"worker-log-server": "worker_log_server_port", "trigger-log-server": "trigger_log_server_port"}


def loopback_hostname() -> str:
    """``[core] hostname_callable`` of the local stack: the address the log servers listen on."""
    return LOOPBACK


#: The environment variable holding a Celery worker's name (set per worker process; read by :func:`worker_hostname`).
WORKER_NAME_VAR = "ACS_WORKER_NAME"


def worker_hostname() -> str:
    """``[core] hostname_callable`` of a Celery worker of the local deployment: its name, e.g. ``celery-2``."""
    return os.environ.get(WORKER_NAME_VAR) or LOOPBACK


def worker_name(number: int) -> str:
    return f"celery-{number}"


def celery_env(*, broker_url: str, metadata_url: str, queue: str, concurrency: int) -> dict[str, str]:
    """The settings of a CeleryExecutor deployment: Redis ``broker_url``, results in the PostgreSQL metadata DB,
    tasks on ``queue`` (so several deployments can share one broker), ``concurrency`` task slots per worker."""
    backend = "db+" + metadata_url.replace("postgresql+psycopg2://", "postgresql://", 1)
    return {
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CELERY__BROKER_URL": broker_url,
        "AIRFLOW__CELERY__RESULT_BACKEND": backend,
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(concurrency),
        "AIRFLOW__OPERATORS__DEFAULT_QUEUE": queue,
    }


def loopback_env() -> dict[str, str]:
    """The settings that keep every component on 127.0.0.1."""
    return {
        "AIRFLOW__API__HOST": LOOPBACK,
        "AIRFLOW__CORE__HOSTNAME_CALLABLE": f"{MODULE}.loopback_hostname",
    }


def component_command(component: str, env: dict[str, str] | None = None) -> list[str]:
    """The command line of one component (Airflow's CLI, or ``log-server`` of this module); ``celery-N``: a worker
    serving the default queue (its log server is the loopback one: one log folder on this machine)."""
    if component.startswith("celery-"):
        queue = (env or os.environ).get("AIRFLOW__OPERATORS__DEFAULT_QUEUE", "default")
        return [sys.executable, "-m", "airflow", "celery", "worker", "--skip-serve-logs", "--queues", queue,
                "--celery-hostname", f"{component}@%h", "--without-gossip", "--without-mingle"]  # fmt: skip
    if component in LOG_SERVERS:
        return [sys.executable, "-m", MODULE, "log-server", component]
    skip = ["--skip-serve-logs"] if component in ("scheduler", "triggerer") else []
    return [sys.executable, "-m", "airflow", component, *skip]


def serve_logs(component: str) -> None:
    """Airflow's log-server app (what ``airflow scheduler``/``triggerer`` would serve) on 127.0.0.1."""
    import uvicorn
    from airflow.configuration import conf

    uvicorn.run(
        "airflow.utils.serve_logs.log_server:get_app",
        factory=True,
        host=LOOPBACK,
        port=conf.getint("logging", LOG_SERVERS[component]),
        log_config=None,
        access_log=False,
    )


@dataclass
class AirflowStack:
    """Airflow components running as subprocesses on one Airflow home; each one's output in ``<log_dir>/<name>.log``."""

    home: Path
    env: dict[str, str]
    log_dir: Path | None = None
    #: Celery workers to start (CeleryExecutor in ``env``); 0 with the LocalExecutor.
    workers: int = 0
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.env = {**self.env, **loopback_env()}
        self.log_dir = self.log_dir or self.home
        if self.workers and self.env.get("AIRFLOW__CORE__EXECUTOR") != "CeleryExecutor":
            raise ValueError("Celery workers need AIRFLOW__CORE__EXECUTOR=CeleryExecutor (celery_env)")

    @property
    def metadata(self):
        return create_engine(self.env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])

    def log_file(self, component: str) -> Path:
        return self.log_dir / f"{component}.log"

    def cli(self, *args: str, timeout: float = 120) -> str:
        """Run ``airflow <args>`` against this stack's home; raises with its output when it fails."""
        result = subprocess.run(
            [sys.executable, "-m", "airflow", *args],
            env=self.env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=timeout,
        )  # fmt: skip
        if result.returncode != 0:
            raise AssertionError(f"airflow {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def start(self, component: str) -> None:
        log = open(self.log_file(component), "a")  # noqa: SIM115 - closed with the process
        env = self.env
        if component.startswith("celery-"):
            env = {**env, WORKER_NAME_VAR: component, "AIRFLOW__CORE__HOSTNAME_CALLABLE": f"{MODULE}.worker_hostname"}
        self.processes[component] = subprocess.Popen(
            component_command(component, env),
            env=env, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

    def start_all(self) -> None:
        for component in (*COMPONENTS, *LOG_SERVERS, *self.worker_names):
            self.start(component)

    @property
    def worker_names(self) -> list[str]:
        return [worker_name(n) for n in range(1, self.workers + 1)]

    def kill(self, component: str) -> None:
        """SIGKILL a component and everything it started (a Celery worker: its task processes too), as a lost
        machine would; it is no longer watched by :meth:`check_alive`."""
        process = self.processes.pop(component)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)

    def check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                tail = self.log_file(name).read_text()[-3000:]
                raise AssertionError(f"{name} exited with {process.returncode}:\n{tail}")

    def stop(self) -> None:
        """SIGTERM each component's process group, then SIGKILL what is left (idle executor workers ignore TERM)."""
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for process in self.processes.values():
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for process in self.processes.values():
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait(5)

    def query(self, sql: str, **params) -> list[dict]:
        """Rows of a query on the metadata database."""
        engine = self.metadata
        try:
            with engine.connect() as conn:
                return [dict(r) for r in conn.execute(text(sql), params).mappings()]
        finally:
            engine.dispose()

    def wait_for(self, what: str, check: Callable[[], object], timeout: float) -> None:
        """Poll ``check`` every second until it is truthy; fail with the components' log tails after ``timeout``."""
        deadline = time.monotonic() + timeout
        while not check():
            self.check_alive()
            if time.monotonic() > deadline:
                logs = "\n".join(
                    f"--- {name}.log ---\n" + self.log_file(name).read_text()[-2500:] for name in self.processes
                )
                raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}\n{logs}")
            time.sleep(1)

    def runs(self, dag_id: str, run_type: str | None = None) -> list[dict]:
        """A DAG's runs (oldest logical date first, all types unless ``run_type``) with their state, type and note."""
        rows = self.query(
            "SELECT r.run_id, r.run_type, r.state, r.logical_date, n.content AS note FROM dag_run r "
            "LEFT JOIN dag_run_note n ON n.dag_run_id = r.id WHERE r.dag_id = :dag ORDER BY r.logical_date, r.id",
            dag=dag_id,
        )
        return [row for row in rows if run_type in (None, row["run_type"])]


def channel_connection(url: str) -> dict:
    """The ``channel_db`` Airflow connection (JSON form) of a SQLAlchemy URL: SQLite, MySQL/MariaDB or PostgreSQL."""
    from sqlalchemy.engine import make_url

    u = make_url(url)
    if u.get_backend_name() == "sqlite":
        return {"conn_type": "sqlite", "host": u.database}
    conn_type = {"mysql": "mysql", "mariadb": "mysql", "postgresql": "postgres"}[u.get_backend_name()]
    return {
        "conn_type": conn_type,
        "host": u.host,
        "port": u.port,
        "login": u.username,
        "password": u.password or "",
        "schema": u.database,
    }


def start_stack(
    folder: Path,
    metadata_url: str,
    connections: dict[str, dict],
    *,
    channel_url: str | None = None,
    workers: int = 0,
    broker_url: str = "redis://127.0.0.1:6379/0",
    worker_concurrency: int = 4,
    **extra_env: str,
) -> AirflowStack:
    """A throwaway Airflow in ``folder`` (its home, logs, SQLite channel DB unless ``channel_url``, landing store),
    started: LocalExecutor, or with ``workers`` the CeleryExecutor and that many workers on a queue of its own.

    ``connections``: the sandboxes' (``Sandbox.airflow_connections``); pools as ``scripts/setup`` loads them;
    ``extra_env`` wins over every default. Used by the tests and the benchmarks; the caller stops it.
    """
    home = folder / "airflow"
    home.mkdir()
    api_port = free_port()
    connections = {**connections, "CHANNEL_DB": channel_connection(channel_url or f"sqlite:///{folder / 'channel.db'}")}
    executor = {"AIRFLOW__CORE__EXECUTOR": "LocalExecutor"}
    if workers:
        queue = f"acs_{os.getpid()}_{secrets.token_hex(3)}"
        executor = celery_env(
            broker_url=broker_url, metadata_url=metadata_url, queue=queue, concurrency=worker_concurrency
        )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "ACS_"))},
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_url,
        **executor,
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__API__PORT": str(api_port),
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{api_port}",
        "AIRFLOW__API__WORKERS": "1",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(16),
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "PYTHONPATH": str(PROJECT_ROOT),
        "ACS_ALERTS_FILE": str(folder / "alerts.jsonl"),
        "AIRFLOW_VAR_AMAZON_ORDER_SETTINGS": json.dumps(
            {"fba_import": True, "landing_uri": (folder / "landing").as_uri()}
        ),
        **{f"AIRFLOW_CONN_{name}": json.dumps(conn) for name, conn in connections.items()},
        **extra_env,
    }
    stack = AirflowStack(home, env, workers=workers)
    try:
        stack.cli("db", "migrate")
        # The pools (and, overridden by the environment above, the connections and Variable) as scripts/setup loads them.
        subprocess.run(
            [sys.executable, str(PROJECT_ROOT / "scripts" / "load_airflow_settings.py"), str(PROJECT_ROOT / "airflow_settings.yaml")],
            env=stack.env, cwd=PROJECT_ROOT, check=True, capture_output=True,
        )  # fmt: skip
        stack.start_all()
    except BaseException:
        stack.stop()
        raise
    return stack


def run(log_dir: Path, workers: int = 0) -> int:
    """Start every component (and ``workers`` Celery workers) on this environment's Airflow home and keep them
    running until SIGINT/SIGTERM."""
    stack = AirflowStack(Path(os.environ["AIRFLOW_HOME"]), dict(os.environ), log_dir, workers)
    log_dir.mkdir(parents=True, exist_ok=True)
    stopping = False

    def stop(signum, frame) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    stack.start_all()
    for name, process in stack.processes.items():
        print(f"airflow-stack: {name} (pid {process.pid}) → {stack.log_file(name)}", flush=True)
    status = 0
    while not stopping:
        try:
            stack.check_alive()
        except AssertionError as exc:
            print(f"airflow-stack: {exc}", file=sys.stderr, flush=True)
            status = 1
            break
        time.sleep(1)
    print("airflow-stack: stopping", flush=True)
    stack.stop()
    return status


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m {MODULE}", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run_parser = sub.add_parser("run", help="start every component; Ctrl-C (or SIGTERM) stops them all")
    run_parser.add_argument("--logs", type=Path, required=True, help="folder for one log file per component")
    run_parser.add_argument("--workers", type=int, default=0, help="Celery workers (CeleryExecutor environment)")
    serve = sub.add_parser("log-server", help="one loopback log server (started by 'run')")
    serve.add_argument("component", choices=sorted(LOG_SERVERS))
    args = parser.parse_args(argv)
    if args.command == "log-server":
        serve_logs(args.component)
        return 0
    return run(args.logs, args.workers)


if __name__ == "__main__":
    sys.exit(main())
