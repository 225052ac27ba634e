"""The "Amazon orders" page of the Airflow UI, and its JSON API, served by the API server.

An Airflow 3 plugin: a FastAPI app mounted at ``/amazon-sync`` (``fastapi_apps``) and an
external view (``external_views``) that puts "Amazon orders" in the UI's navigation and shows
``/amazon-sync/`` in the UI's frame. Reference: ``docs/amazon-orders.md``.

* Every route reads one seller account of the accounts file (``account``, default ``default``;
  an unknown name is a 404 listing the known ones) and needs an Airflow user (the API server's
  own ``get_user``: the UI's ``_token`` cookie or a ``Bearer`` token) with read access to that
  account's order sync DAG (``amazon_order_sync``, ``amazon_order_sync_<account>``).
* Reads come from the channel database through the ``channel_db`` connection
  (``include/ops/orders_page.py``: that account's rows only, no buyer data, no writes) and, for
  the runs, from Airflow's metadata database (the account's own DAGs).
* "Retry now" and "Re-push" trigger the account's order sync / tracking push DAG with
  ``{"amazon_order_ids": [...]}`` (the push also with ``"resend_refused": true``) through Airflow's
  REST API (``POST /api/v2/dags/{dag_id}/dagRuns``) with the caller's own token, so Airflow's
  permissions and audit log apply; a user who may not trigger that DAG gets 403 here first, and
  the page shows read-only.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import quote

from airflow.plugins_manager import AirflowPlugin
from fastapi import Depends, FastAPI, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from include.adapters.accounts import Account

URL_PREFIX = "/amazon-sync"
SYNC, PUSH = "amazon_order_sync", "amazon_tracking_push"
#: The task whose return value carries each job's SP-API traffic (``sp_api``: requests, 429s, retries).
TRAFFIC_TASKS = {SYNC: "extract_orders", PUSH: "amazon_confirmations.confirm_packages"}
RECENT_RUNS = 10
MAX_IDS = 100
ORDER_ID = re.compile(r"^[0-9]{3}-[0-9]{7}-[0-9]{7}$")
PAGE = Path(__file__).with_name("amazon_orders.html")

app = FastAPI(
    title="Amazon orders",
    description="Sync health, orders kept out of Commerce and refused packages, with retry actions.",
    docs_url="/api/docs",
    openapi_url="/api/openapi.json",
)


# --------------------------------------------------------------------------------------------------- security


async def current_user(request: Request) -> Any:
    """The authenticated Airflow user (401 without a valid token or cookie), resolved by Airflow's own ``get_user``
    (imported here: every Airflow component loads plugins, only the API server needs its security module)."""
    from airflow.api_fastapi.core_api.security import bearer_scheme, get_user

    return await get_user(request, None, await bearer_scheme(request))


def may(user: Any, method: str, dag_id: str) -> bool:
    """Whether Airflow's auth manager lets ``user`` read (GET) or trigger (POST) runs of ``dag_id``."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails

    return get_auth_manager().is_authorized_dag(
        method=method, access_entity=DagAccessEntity.RUN, details=DagDetails(id=dag_id), user=user
    )


def dag_ids(account: Account) -> dict[str, str]:
    """The account's DAG id of each job (``amazon_order_sync`` → ``amazon_order_sync_eu`` for account ``eu``)."""
    return {SYNC: account.sync_dag_id, PUSH: account.push_dag_id}


def account_of(account: str | None) -> Account:
    """The account of the accounts file called ``account`` (None: ``default``); 404 listing the known ones."""
    from include.ops.orders_page import UnknownAccount, check_account

    try:
        return check_account(account)
    except UnknownAccount as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None


def require(user: Any, method: str, dag_id: str) -> None:
    """403 unless ``user`` may read (GET) or trigger (POST) runs of ``dag_id``."""
    if not may(user, method, dag_id):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, f"you may not {'read' if method == 'GET' else 'trigger'} {dag_id}"
        )


def reader_of(user: Any, account: str | None) -> Account:
    """The account to read (404 if unknown), once ``user`` may read its order sync DAG's runs (403 otherwise)."""
    chosen = account_of(account)
    require(user, "GET", chosen.sync_dag_id)
    return chosen


User = Annotated[Any, Depends(current_user)]


def caller_token(request: Request) -> str:
    """The credential the caller presented: its ``Bearer`` token, else the UI's session cookie."""
    from airflow.api_fastapi.auth.managers.base_auth_manager import COOKIE_NAME_JWT_TOKEN

    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.cookies.get(COOKIE_NAME_JWT_TOKEN, "")


# --------------------------------------------------------------------------------------------------- data


@cache
def channel_engine():
    """The channel database, through the ``channel_db`` connection as the API server resolves it."""
    from airflow.models.connection import Connection

    return Connection.get_connection_from_secrets("channel_db").get_hook().get_sqlalchemy_engine()


def base_url() -> str:
    """Airflow's ``[api] base_url`` without its trailing slash (links to the Grid, calls to the REST API)."""
    from airflow.configuration import conf

    return conf.get("api", "base_url", fallback="http://127.0.0.1:8080").rstrip("/")


def run_url(dag_id: str, run_id: str) -> str:
    return f"{base_url()}/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}"


def recent_runs(job: str, dag_id: str) -> dict[str, Any]:
    """The last successful run of ``dag_id`` (an account's DAG of ``job``) and its last runs, each with the SP-API
    traffic its task reported."""
    from airflow.models.dagrun import DagRun
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    def shown(run: DagRun, traffic: dict[str, dict]) -> dict[str, Any]:
        return {
            "run_id": run.run_id,
            "run_type": str(getattr(run.run_type, "value", run.run_type)),
            "state": str(getattr(run.state, "value", run.state)),
            "start_date": _iso(run.start_date),
            "end_date": _iso(run.end_date),
            "url": run_url(dag_id, run.run_id),
            "sp_api": traffic.get(run.run_id),
        }

    with create_session() as session:
        runs = session.scalars(
            select(DagRun).where(DagRun.dag_id == dag_id).order_by(DagRun.id.desc()).limit(RECENT_RUNS)
        ).all()
        success = session.scalars(
            select(DagRun)
            .where(DagRun.dag_id == dag_id, DagRun.state == "success")
            .order_by(DagRun.end_date.desc())
            .limit(1)
        ).first()
        rows = session.scalars(
            select(XComModel).where(
                XComModel.dag_id == dag_id,
                XComModel.task_id == TRAFFIC_TASKS[job],
                XComModel.key == "return_value",
                XComModel.run_id.in_([r.run_id for r in runs]),
            )
        ).all()
        traffic = {}
        for row in rows:
            value = XComModel.deserialize_value(row)
            if isinstance(value, dict) and isinstance(value.get("sp_api"), dict):
                traffic[row.run_id] = value["sp_api"]
        return {
            "dag_id": dag_id,
            "last_success": shown(success, traffic) if success else None,
            "recent": [shown(r, traffic) for r in runs],
        }


def _iso(value) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


async def trigger(
    request: Request, user: Any, dag_id: str, ids: list[str], note: str, **extra_conf: Any
) -> dict[str, Any]:
    """``POST /api/v2/dags/{dag_id}/dagRuns`` as the caller, with ``{"amazon_order_ids": ids, **extra_conf}``;
    Airflow's refusal is passed on with its status."""
    import httpx

    require(user, "POST", dag_id)
    body = {"logical_date": None, "conf": {"amazon_order_ids": ids, **extra_conf}, "note": note}
    async with httpx.AsyncClient(base_url=base_url(), timeout=30) as client:
        answer = await client.post(
            f"/api/v2/dags/{dag_id}/dagRuns", json=body, headers={"Authorization": f"Bearer {caller_token(request)}"}
        )
    if answer.status_code >= 400:
        try:
            detail = answer.json().get("detail", answer.text)
        except ValueError:
            detail = answer.text
        raise HTTPException(answer.status_code, detail)
    run = answer.json()
    return {
        "dag_id": dag_id,
        "dag_run_id": run["dag_run_id"],
        "state": run.get("state"),
        "amazon_order_ids": ids,
        "url": run_url(dag_id, run["dag_run_id"]),
    }


# --------------------------------------------------------------------------------------------------- routes


class OrderIds(BaseModel):
    """Amazon order ids to act on, in one account."""

    amazon_order_ids: list[str] = Field(min_length=1, max_length=MAX_IDS)
    account: str = "default"


def checked_ids(body: OrderIds, allowed: set[str], what: str) -> list[str]:
    """The request's distinct ids, sorted; 400 if one is malformed or not among ``allowed``."""
    ids = sorted({i.strip() for i in body.amazon_order_ids})
    if bad := [i for i in ids if not ORDER_ID.match(i)]:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"not Amazon order ids (3-7-7 digits): {', '.join(bad)}")
    if unknown := [i for i in ids if i not in allowed]:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"{what}: {', '.join(unknown)}")
    return ids


@app.get("/", response_class=HTMLResponse, include_in_schema=False)
async def page(request: Request) -> Any:
    """The page (the UI shows it in its frame); without a login, Airflow's login page first."""
    try:
        user = await current_user(request)
    except HTTPException:
        return RedirectResponse(f"{base_url()}/auth/login/?next={quote(base_url() + URL_PREFIX + '/')}")
    require(user, "GET", account_of(request.query_params.get("account")).sync_dag_id)
    return HTMLResponse(PAGE.read_text())


@app.get("/api/health")
def health(user: User, account: str | None = None) -> dict[str, Any]:
    """The account's sync health: runs of its two DAGs (per job), high-water marks and lag, orders and packages per
    status, imports per hour, every account's name (``accounts``) and what the caller may do (``can_retry``,
    ``can_repush``)."""
    from include.ops.orders_page import account_names
    from include.ops.orders_page import health as channel_health

    chosen = reader_of(user, account)
    dags = dag_ids(chosen)
    return {
        **channel_health(channel_engine(), chosen.name),
        "accounts": account_names(),
        "dag_ids": dags,
        "runs": {job: recent_runs(job, dag_id) for job, dag_id in dags.items()},
        "can_retry": may(user, "POST", dags[SYNC]),
        "can_repush": may(user, "POST", dags[PUSH]),
        "user": user.get_name(),
    }


@app.get("/api/orders")
def orders(
    user: User,
    status_: Annotated[str | None, Query(alias="status")] = None,
    q: str | None = None,
    account: str | None = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """Orders kept out of Commerce, oldest problem first; ``status`` failed | skipped | imported (an update failed)
    | rejected (all when absent), ``q`` part of an Amazon order id or SKU."""
    from include.ops.orders_page import kept_out_orders

    name = reader_of(user, account).name
    try:
        page = kept_out_orders(channel_engine(), name, status=status_ or None, q=q, offset=offset, limit=limit)
    except ValueError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from None
    return {"account": name, **page.to_dict()}


@app.get("/api/packages")
def packages(
    user: User,
    status_: Annotated[str | None, Query(alias="status")] = "refused",
    account: str | None = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """Packages Amazon did not confirm, most recent first: ``status`` refused (default) | failed | skipped | held
    | all."""
    from include.ops.orders_page import package_problems

    name = reader_of(user, account).name
    wanted = None if status_ in ("all", "") else status_
    try:
        page = package_problems(channel_engine(), name, status=wanted, offset=offset, limit=limit)
    except ValueError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from None
    return {"account": name, **page.to_dict()}


@app.post("/api/orders/retry")
async def retry(request: Request, body: OrderIds, user: User) -> dict[str, Any]:
    """Retry now: a re-sync run of the account's order sync DAG for these kept-out orders of the account
    (``amazon_order_ids`` conf)."""
    from include.ops.orders_page import kept_out_ids

    chosen = reader_of(user, body.account)
    require(user, "POST", chosen.sync_dag_id)
    ids = checked_ids(body, kept_out_ids(channel_engine(), chosen.name), "not kept out of Commerce")
    note = f"Retry now from the Amazon orders page ({len(ids)} order{'s' if len(ids) != 1 else ''})"
    return await trigger(request, user, chosen.sync_dag_id, ids, note)


@app.post("/api/packages/repush")
async def repush(request: Request, body: OrderIds, user: User) -> dict[str, Any]:
    """Re-push: a run of the account's tracking push DAG for these orders' packages, refused ones included
    (``{"amazon_order_ids": [...], "resend_refused": true}``)."""
    from include.ops.orders_page import package_problems

    chosen = reader_of(user, body.account)
    require(user, "POST", chosen.push_dag_id)
    problems = package_problems(channel_engine(), chosen.name, status=None, limit=100_000)
    with_problems = {p["amazon_order_id"] for p in problems.items}
    ids = checked_ids(body, with_problems, "no refused, failed, skipped or held package")
    note = f"Re-push from the Amazon orders page ({len(ids)} order{'s' if len(ids) != 1 else ''})"
    return await trigger(request, user, chosen.push_dag_id, ids, note, resend_refused=True)


class AmazonOrdersPlugin(AirflowPlugin):
    """Registers the app at ``/amazon-sync`` and the "Amazon orders" entry of the UI's navigation."""

    name = "amazon_orders"
    fastapi_apps = [{"app": app, "url_prefix": URL_PREFIX, "name": "Amazon orders"}]
    external_views = [
        {
            "name": "Amazon orders",
            "href": f"{URL_PREFIX}/",
            "url_route": "amazon-orders",
            "destination": "nav",
            "nav_top_level": True,
        }
    ]
