"""A malformed Amazon order id in a trigger or backfill form is refused with a sentence, not a JSON-schema dump.

Airflow checks the params against their JSON schema when a run or a backfill is
created and answers 400 with ``str()`` of jsonschema's ``ValidationError``: the
regular expression, the failing sub-schema and the instance, which the UI shows
verbatim at the top of the dialog. Airflow (3.3) has no way to word that message, so
this API-server middleware (an ``AirflowPlugin.fastapi_root_middlewares`` entry)
replaces the detail of exactly that refusal, for our DAGs' ``amazon_order_ids``
param, with :func:`include.adapters.dag_defaults.order_ids_problem`'s sentence. Every other
request and response passes through untouched.
"""

from __future__ import annotations

import json
import logging
import re

from airflow.plugins_manager import AirflowPlugin

log = logging.getLogger(__name__)

#: Where the UI (and API clients) create runs and backfills, and where the conf is in the request body.
TRIGGER = re.compile(r"/api/v2/dags/(?P<dag_id>[^/]+)/dagRuns/?$")
BACKFILL = re.compile(r"/api/v2/backfills/?$")
PARAM = "amazon_order_ids"
AIRFLOW_REFUSAL = f"Invalid input for param {PARAM}:"


def readable_detail(path: str, request_body: bytes, detail: object) -> str | None:
    """The sentence that replaces Airflow's ``detail`` of a 400 on ``path``, or None to leave the response alone."""
    from include.adapters.dag_defaults import base_dag_id, order_ids_problem

    if not (isinstance(detail, str) and detail.startswith(AIRFLOW_REFUSAL)):
        return None
    body = json.loads(request_body or b"{}")
    if match := TRIGGER.search(path):
        dag_id, conf = match["dag_id"], body.get("conf")
    elif BACKFILL.search(path):
        dag_id, conf = body.get("dag_id"), body.get("dag_run_conf")
    else:
        return None
    if not isinstance(dag_id, str) or base_dag_id(dag_id) is None or not isinstance(conf, dict):
        return None
    return order_ids_problem(conf.get(PARAM))


class ReadableParamErrors:
    """Pure ASGI middleware: buffers the body of a run/backfill POST, and rewrites its 400 when it is Airflow's
    refusal of an Amazon order id (anything unexpected leaves Airflow's response as it was)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "")
        if scope["type"] != "http" or scope["method"] != "POST" or not (TRIGGER.search(path) or BACKFILL.search(path)):
            await self.app(scope, receive, send)
            return
        chunks, more = [], True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                await self.app(scope, _replay(chunks, message, receive), send)
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        request_body = b"".join(chunks)
        held: dict = {}

        async def send_or_hold(message):
            if message["type"] == "http.response.start" and message["status"] == 400:
                held["start"], held["body"] = message, b""
                return
            if "start" not in held:
                await send(message)
                return
            held["body"] += message.get("body", b"")
            if not message.get("more_body", False):
                start, body = _rewritten(path, request_body, held["start"], held["body"])
                await send(start)
                await send({"type": "http.response.body", "body": body})

        await self.app(scope, _replay(chunks, None, receive), send_or_hold)


def _replay(chunks: list[bytes], last, receive):
    """A ``receive`` that hands the app the request body read already, then defers to the real one."""
    pending = [{"type": "http.request", "body": b"".join(chunks), "more_body": False}] if chunks else []
    if last is not None:
        pending.append(last)

    async def replay():
        return pending.pop(0) if pending else await receive()

    return replay


def _rewritten(path: str, request_body: bytes, start: dict, body: bytes) -> tuple[dict, bytes]:
    try:
        detail = json.loads(body).get("detail")
        sentence = readable_detail(path, request_body, detail)
    except Exception:  # never turn Airflow's refusal into a server error
        log.exception("could not reword a 400 on %s; Airflow's answer goes out unchanged", path)
        sentence = None
    if sentence is None:
        return start, body
    new_body = json.dumps({"detail": sentence}).encode()
    headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
    return {**start, "headers": [*headers, (b"content-length", str(len(new_body)).encode())]}, new_body


class TriggerFormErrorsPlugin(AirflowPlugin):
    """Registers :class:`ReadableParamErrors` on the API server."""

    name = "amazon_commerce_trigger_form_errors"
    fastapi_root_middlewares = [{"middleware": ReadableParamErrors, "name": "readable_param_errors"}]
