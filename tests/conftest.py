"""Shared fixtures: real sandboxes over HTTP, the published specs, real databases."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from sandbox.airflow_stack import AirflowStack
from sandbox.process import Sandbox, free_port, port_answers, start_sandbox  # noqa: E402,F401  (fixtures and test modules use them)

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def sandbox_cipher():
    """The cipher of the sandbox key (``amazon_pii_key`` of the sandbox connections), for tests calling the store."""
    from include.domain.buyer_data import BuyerDataCipher
    from sandbox.credentials import PII_SANDBOX_KEY

    return BuyerDataCipher([PII_SANDBOX_KEY])


CIPHER = sandbox_cipher()
SPECS_DIR = PROJECT_ROOT.parent / "shared" / "specs"

# Tests get a throwaway Airflow home (SQLite metadata DB), never the project's
# .airflow/: set before anything imports Airflow, which reads it at import time.
TEST_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="acs-airflow-home-"))
os.environ.update(
    {
        "AIRFLOW_HOME": str(TEST_AIRFLOW_HOME),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{TEST_AIRFLOW_HOME / 'airflow.db'}",
    }
)


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


@pytest.fixture(scope="session")
def mariadb_url() -> str:
    """A fresh database on the local MariaDB server (skips where none runs)."""
    if not port_answers("127.0.0.1", 3306):
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
    if not port_answers("127.0.0.1", 5432):
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


def load_plugin(name: str):
    """A module of plugins/ (not a package: Airflow loads those files itself), imported under a test-only name."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"{name}_under_test", PROJECT_ROOT / "plugins" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def specs_dir() -> Path:
    """The published API specs in ../shared/specs (skips where that folder is absent)."""
    if not SPECS_DIR.is_dir():
        pytest.skip(f"published specs not found at {SPECS_DIR}")
    return SPECS_DIR


# --------------------------------------------------------------------------------------------------- running DAGs


@pytest.fixture(scope="session")
def airflow_home() -> Path:
    """The tests' Airflow home with a migrated metadata DB (done once per session)."""
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True, env=os.environ.copy()
    )
    return TEST_AIRFLOW_HOME


def run_dag(dag_id: str, conf: dict | None = None, logical_date=None, *, keep_retries: bool = False):
    """Run a DAG of dags/ in-process with ``dag.test()`` (no retries, so a failure shows at once, unless kept)."""
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(PROJECT_ROOT / "dags")).get_dag(dag_id)
    for task in dag.tasks:
        if not keep_retries:
            task.retries = 0
    kwargs = {"run_conf": conf or {}}
    if logical_date is not None:
        kwargs["logical_date"] = logical_date
    return dag.test(**kwargs)


def task_states(dag_run) -> dict[str, str]:
    """``{task_id: state}`` of a finished run (mapped tasks: the state of index 0 … as a list)."""
    states: dict[str, object] = {}
    for ti in dag_run.get_task_instances():
        state = str(ti.state.value if hasattr(ti.state, "value") else ti.state)
        if ti.map_index >= 0:
            states.setdefault(ti.task_id, []).append(state)  # type: ignore[union-attr]
        else:
            states[ti.task_id] = state
    return states


def xcom_result(dag_run, task_id: str):
    """The return value of a task in a finished run."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = (
            session.query(XComModel)
            .filter_by(dag_id=dag_run.dag_id, run_id=dag_run.run_id, task_id=task_id, key="return_value")
            .first()
        )
        return None if row is None else XComModel.deserialize_value(row)


@dataclass
class SyncEnv:
    """Airflow connections and settings pointing the DAGs at the sandboxes and a fresh channel DB."""

    sandbox: Sandbox
    channel_url: str
    landing_dir: Path
    monkeypatch: pytest.MonkeyPatch

    def settings(self, **values) -> None:
        """Set the ``amazon_order_settings`` Variable (landing in the test's folder unless given)."""
        values.setdefault("landing_uri", self.landing_dir.as_uri())
        self.monkeypatch.setenv("AIRFLOW_VAR_AMAZON_ORDER_SETTINGS", json.dumps(values))

    @property
    def engine(self):
        from include.adapters.hooks.channel_db import channel_engine

        return channel_engine()

    def run_sync(self, **conf):
        return run_dag("amazon_order_sync", conf)


def _channel_connection(url: str) -> dict:
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


@pytest.fixture
def sync_env(request, sandbox: Sandbox, airflow_home, tmp_path, monkeypatch) -> SyncEnv:
    """Connections for the DAGs: the sandboxes, and a channel DB (SQLite, or ``channel_db_url`` if parametrized)."""
    from include.adapters.hooks.amazon_sp_api import _PACERS
    from include.adapters.hooks.channel_db import channel_engine

    channel_url = getattr(request, "param", None) or f"sqlite:///{tmp_path / 'channel.db'}"
    if channel_url in ("mariadb", "postgres"):
        channel_url = request.getfixturevalue(f"{channel_url}_channel_url")
    connections = {**sandbox.airflow_connections(), "CHANNEL_DB": _channel_connection(channel_url)}
    for name, conn in connections.items():
        monkeypatch.setenv(f"AIRFLOW_CONN_{name}", json.dumps(conn))
    channel_engine.cache_clear()
    _PACERS.clear()  # the sandbox's buckets were refilled by its reset; start ours full too
    env = SyncEnv(sandbox, channel_url, tmp_path / "landing", monkeypatch)
    env.settings()
    yield env
    channel_engine().dispose()  # close pooled connections, so that the next test may drop its database
    channel_engine.cache_clear()


def _fresh_database(url: str) -> str:
    """Drop and recreate the database named in ``url`` (MariaDB or PostgreSQL); returns ``url``."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    u = make_url(url)
    admin = create_engine(
        u.set(database="postgres" if u.get_backend_name() == "postgresql" else "mysql"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {u.database}"))
        conn.execute(text(f"CREATE DATABASE {u.database}"))
    admin.dispose()
    return url


@pytest.fixture
def mariadb_channel_url(mariadb_url) -> str:
    """A fresh, empty MariaDB database for one test's channel tables."""
    return _fresh_database(mariadb_url.rsplit("/", 1)[0] + f"/acs_channel_test_{os.getpid()}")


@pytest.fixture
def postgres_channel_url(postgres_url) -> str:
    """A fresh, empty PostgreSQL database for one test's channel tables."""
    return _fresh_database(postgres_url.rsplit("/", 1)[0] + f"/acs_channel_test_{os.getpid()}")


# --------------------------------------------------------------------------------------------------- a real Airflow


@contextmanager
def fresh_metadata_db(suffix: str = "") -> Iterator[str]:
    """A fresh PostgreSQL database for the Airflow metadata (skips where no server runs), dropped afterwards.

    SQLite locks up under a scheduler, a DAG processor, an API server, a triggerer and
    executor workers writing at once (and under ``airflow backfill create`` while they run).
    """
    if not port_answers("127.0.0.1", 5432):
        pytest.skip("PostgreSQL is not running on 127.0.0.1:5432 (the metadata DB of a real Airflow)")
    from sqlalchemy import create_engine, text

    admin = create_engine("postgresql+psycopg2://postgres@127.0.0.1:5432/postgres", isolation_level="AUTOCOMMIT")
    name = f"acs_airflow_{os.getpid()}{suffix}"
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield f"postgresql+psycopg2://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


@pytest.fixture
def metadata_db() -> Iterator[str]:
    """A fresh PostgreSQL metadata database for one test (:func:`fresh_metadata_db`)."""
    with fresh_metadata_db() as url:
        yield url


def launch_airflow_stack(sandbox: Sandbox, metadata_url: str, folder: Path, **extra_env: str) -> AirflowStack:
    """Start a real Airflow on ``sandbox``: every component as a subprocess (``sandbox.airflow_stack``),
    LocalExecutor, the metadata DB at ``metadata_url``, a SQLite channel DB and the landing store in ``folder``.
    Extra environment variables win. The caller stops it (``stack.stop()``)."""
    home = folder / "airflow"
    home.mkdir()
    api_port = free_port()
    connections = {
        **sandbox.airflow_connections(),
        "CHANNEL_DB": {"conn_type": "sqlite", "host": str(folder / "channel.db")},
    }
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "ACS_"))},
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata_url,
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
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
    stack = AirflowStack(home, env)
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


@pytest.fixture
def airflow_stack(sandbox, metadata_db, tmp_path) -> Iterator[Callable[..., AirflowStack]]:
    """Starts a real Airflow on the sandboxes (:func:`launch_airflow_stack`) in the test's folder.

    Call it with extra environment variables (they win); it returns the running stack, stopped after the test.
    """
    started: list[AirflowStack] = []

    def start(**extra_env: str) -> AirflowStack:
        stack = launch_airflow_stack(sandbox, metadata_db, tmp_path, **extra_env)
        started.append(stack)
        return stack

    try:
        yield start
    finally:
        for stack in started:
            stack.stop()


# --------------------------------------------------------------------------------------------------- channel DB


def fresh_channel_engine(url: str):
    """An engine on ``url`` with the channel tables dropped and created again at the head revision.

    Only the channel tables and their version table are dropped: other tables of the database are kept.
    """
    from sqlalchemy import create_engine, text

    from include import channel_db
    from include.channel_db.migrate import VERSION_TABLE
    from include.channel_db.tables import metadata

    engine = create_engine(url)
    metadata.drop_all(engine)
    with engine.begin() as conn:
        conn.execute(text(f"DROP TABLE IF EXISTS {VERSION_TABLE}"))
    channel_db.upgrade(engine)
    return engine


@pytest.fixture(params=["sqlite", "mariadb", "postgres"])
def channel_engine(request, tmp_path):
    """A channel database at the head revision on each supported dialect (MariaDB, PostgreSQL: this session's)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'channel.db'}"
    else:
        url = request.getfixturevalue(f"{request.param}_url")
    engine = fresh_channel_engine(url)
    yield engine
    engine.dispose()
