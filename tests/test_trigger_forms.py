"""The manual-run params as the trigger and backfill forms see them, and the readable refusal of a bad order id.

The params are read from the real DAGs; the refusal goes through the plugin's
middleware in front of a small API that validates the conf with the DAG's own
params, as Airflow's API server does (the browser test, ``test_ui.py``, checks the
same against a running Airflow).
"""

from __future__ import annotations

import pytest

from include.adapters.dag_defaults import DAG_IDS, order_ids, order_ids_problem, run_params
from tests.conftest import PROJECT_ROOT, load_plugin


@pytest.fixture(scope="module")
def dags():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(PROJECT_ROOT / "dags")).dags


def test_no_param_is_marked_required_and_each_says_whether_backfills_use_it(dags):
    assert sorted(d for d in dags if dags[d].params) == sorted(DAG_IDS)  # amazon_pii_retention takes none
    for dag_id, dag in dags.items():
        for key in dag.params:
            param = dag.params.get_param(key)
            # Airflow's trigger form marks a param required ("*") when its type does not admit null.
            assert "null" in param.schema["type"], f"{dag_id}.{key} would be marked required"
            assert param.resolve() in (None, [], False), f"{dag_id}.{key} must default to 'not set'"
            said = param.description
            assert ("backfill runs ignore it" in said) != ("every run of a backfill" in said), (dag_id, key)
    ids = dags["amazon_order_sync"].params.get_param("amazon_order_ids")
    assert "One id per line. An Amazon order id is three groups of 3, 7 and 7 digits" in ids.description


def test_a_malformed_order_id_is_explained_in_a_sentence():
    assert order_ids_problem(None) is None
    assert order_ids_problem(["113-1234567-1234567", "", " 113-1234567-1234568 "]) is None  # blank lines, spaces
    assert order_ids_problem(["113-123"]) == (
        'Amazon order ids: "113-123" is not an Amazon order id. An Amazon order id is three groups of 3, 7 and 7 '
        "digits joined by hyphens, e.g. 113-1234567-1234567. Put one id per line."
    )
    many = order_ids_problem(["113-1234567-1234567", *(f"x{i}" for i in range(7))])
    assert many.startswith('Amazon order ids: "x0", "x1", "x2", "x3", "x4" and 2 more are not Amazon order ids.')
    assert order_ids_problem("113-1234567-1234567").startswith("Amazon order ids: put one id per line.")


def test_order_ids_are_tidied_and_backfill_runs_ignore_the_single_run_params():
    assert order_ids({"amazon_order_ids": [" 113-1234567-1234567", "", "113-1234567-1234567 "]}) == [
        "113-1234567-1234567"
    ]
    conf = {"window_start": "2026-03-01T00:00:00Z", "amazon_order_ids": ["113-1234567-1234567"], "dry_run": True}
    assert run_params(conf, "manual") == (conf, [])
    assert run_params(conf, "backfill") == ({"dry_run": True}, ["amazon_order_ids", "window_start"])
    assert run_params({"amazon_order_ids": [], "dry_run": False}, "backfill") == (
        {"amazon_order_ids": [], "dry_run": False},
        [],
    )


@pytest.fixture(scope="module")
def api(dags):
    """Airflow's trigger and backfill routes in miniature (the conf checked by the serialized DAG's params, as the
    API server does, a refusal answered 400 with ``str()`` of the error), behind the plugin's middleware."""
    from airflow.serialization.serialized_objects import DagSerialization
    from fastapi import FastAPI, HTTPException
    from fastapi.testclient import TestClient

    served = {dag_id: DagSerialization.from_dict(DagSerialization.to_dict(dag)) for dag_id, dag in dags.items()}
    app = FastAPI()

    def validate(dag_id: str, conf: dict | None) -> dict:
        try:
            served[dag_id].params.deep_merge(conf or {}).validate()
        except ValueError as exc:  # ParamValidationError, as Airflow's routes catch it
            raise HTTPException(400, str(exc)) from exc
        return {"dag_id": dag_id}

    @app.post("/api/v2/dags/{dag_id}/dagRuns")
    def trigger(dag_id: str, body: dict):
        return validate(dag_id, body.get("conf"))

    @app.post("/api/v2/backfills")
    def backfill(body: dict):
        return validate(body["dag_id"], body.get("dag_run_conf"))

    app.add_middleware(load_plugin("trigger_form_errors").ReadableParamErrors)
    return TestClient(app)


def test_airflows_refusal_of_an_order_id_reads_as_a_sentence(api):
    bad = {"amazon_order_ids": ["113-1234567-1234567", "113-123"]}
    for response in (
        api.post("/api/v2/dags/amazon_order_sync/dagRuns", json={"conf": bad}),
        api.post("/api/v2/backfills", json={"dag_id": "amazon_tracking_push", "dag_run_conf": bad}),
    ):
        assert response.status_code == 400
        assert response.json() == {"detail": order_ids_problem(["113-123"])}
        assert int(response.headers["content-length"]) == len(response.content)

    ok = api.post(
        "/api/v2/dags/amazon_order_sync/dagRuns", json={"conf": {"amazon_order_ids": ["113-1234567-1234567"]}}
    )
    assert ok.status_code == 200 and ok.json() == {"dag_id": "amazon_order_sync"}
    # Any other refusal is Airflow's own, untouched.
    other = api.post("/api/v2/dags/amazon_order_sync/dagRuns", json={"conf": {"dry_run": "yes"}})
    assert other.status_code == 400 and other.json()["detail"].startswith("Invalid input for param dry_run:")
