"""Order-sync settings: the validated contents of the Airflow Variable ``amazon_order_settings``.

The Variable holds a JSON object; every key is optional and unknown keys are
rejected (a typo must not silently fall back to a default). Defaults follow
Adobe's Amazon Sales Channel order settings
(https://experienceleague.adobe.com/en/docs/commerce-channels/amazon/order-settings and
https://experienceleague.adobe.com/en/docs/commerce-channels/amazon/onboarding/default-store-settings):

* ``import_enabled`` — "Import Amazon Orders": Enabled by default.
* ``customer_creation`` — "Customer Creation": "No Customer Creation (guest)" by
  default (``"guest"``); ``"create"`` is "Build New Customer Account" (create a
  customer when none with the buyer's e-mail exists on the store's website).
* ``order_number_source`` — the Commerce order number by default (``"commerce"``:
  Commerce assigns the increment id); ``"amazon"`` uses the Amazon order id.
* ``processing_status`` — the Commerce status an imported, invoiced MFN order
  gets: ``"processing"``, as Amazon Sales Channel sets "Processing".
* ``fba_import`` — "Import Fulfilled By Amazon (FBA) Orders": disabled by default.
* ``store_by_marketplace`` — "Import Amazon Orders Into Magento Store": one store
  view code per Amazon marketplace id. Giving the key replaces the whole map.
* ``payment_method`` — the Commerce payment method code put on imported orders.
  Amazon collected the payment, so it must be an offline method that says "paid
  on Amazon" (never ``checkmo``, which would read as an unpaid check). Default
  ``"amazonpayment"``, after the connector convention of a dedicated offline
  method per marketplace (M2E Pro uses ``m2epropayment``).

* ``stores`` — per store view code, its Commerce ``store_id``, ``website_id`` and
  base ``currency`` (the REST endpoints we use have no store lookup); every code
  in ``store_by_marketplace`` must be defined here. Defaults match the sandbox.
* ``landing_uri`` / ``landing_conn_id`` — where raw SP-API pages land: null for
  ``file://<project>/.local/landing``, or ``s3://bucket/prefix`` with an AWS
  connection id.

Pipeline knobs (no Amazon Sales Channel counterpart): ``chunk_size`` orders per
mapped Commerce task, ``commerce_concurrency`` concurrent Commerce calls, and
``overlap_minutes`` by which each extraction window reaches back.

* ``pii_retention_days`` — how many days buyer data is kept after an order's last
  Amazon update in a final status (shipped, cancelled): 30, Amazon's Data
  Protection Policy maximum, by default; ``amazon_pii_retention`` purges it after that.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

VARIABLE_KEY = "amazon_order_settings"

CUSTOMER_CREATION = ("guest", "create")
ORDER_NUMBER_SOURCES = ("commerce", "amazon")

DEFAULT_STORE_BY_MARKETPLACE: dict[str, str] = {
    "ATVPDKIKX0DER": "default",  # amazon.com (US, USD)
    "A2EUQ1WTGCTBG2": "amazon_ca",  # amazon.ca (CA, CAD)
    "A1AM78C64UM0Y8": "amazon_mx",  # amazon.com.mx (MX, MXN)
}

#: Commerce store views by code: ids and base currency (Magento's REST subset we use has no store lookup).
DEFAULT_STORES: dict[str, dict[str, Any]] = {
    "default": {"store_id": 1, "website_id": 1, "currency": "USD"},
    "amazon_ca": {"store_id": 2, "website_id": 1, "currency": "CAD"},
    "amazon_mx": {"store_id": 3, "website_id": 1, "currency": "MXN"},
}
_LANDING_SCHEMES = ("file://", "s3://")

_CODE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_MARKETPLACE_ID = re.compile(r"^[A-Z0-9]{8,20}$")


class SettingsError(ValueError):
    """The settings Variable is not valid; the message names the key, the value and what is allowed."""


@dataclass(frozen=True)
class OrderSettings:
    """Validated order-sync settings (see the module docstring for each key and its default)."""

    import_enabled: bool = True
    customer_creation: str = "guest"
    order_number_source: str = "commerce"
    processing_status: str = "processing"
    fba_import: bool = False
    store_by_marketplace: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_STORE_BY_MARKETPLACE))
    chunk_size: int = 100
    commerce_concurrency: int = 8
    overlap_minutes: int = 10
    payment_method: str = "amazonpayment"
    stores: dict[str, dict[str, Any]] = field(default_factory=lambda: {k: dict(v) for k, v in DEFAULT_STORES.items()})
    landing_uri: str | None = None
    landing_conn_id: str | None = None
    pii_retention_days: int = 30

    def store_code_for(self, marketplace_id: str) -> str | None:
        """The Commerce store view code for an Amazon marketplace, or None when unmapped."""
        return self.store_by_marketplace.get(marketplace_id)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable copy (for XCom, run reports and the Variable itself)."""
        return asdict(self)


_INT_BOUNDS: dict[str, tuple[int, int]] = {
    "chunk_size": (1, 1000),
    "commerce_concurrency": (1, 64),
    "overlap_minutes": (0, 1440),
    "pii_retention_days": (0, 3650),
}
_FIELDS = tuple(OrderSettings.__dataclass_fields__)


def _fail(key: str, value: Any, allowed: str) -> SettingsError:
    return SettingsError(f"{VARIABLE_KEY}: invalid {key!r} = {value!r}; allowed: {allowed}")


def _check(key: str, value: Any) -> Any:
    if key in ("import_enabled", "fba_import"):
        if not isinstance(value, bool):
            raise _fail(key, value, "true or false (JSON booleans)")
        return value
    if key == "customer_creation":
        if value not in CUSTOMER_CREATION:
            raise _fail(key, value, " or ".join(map(repr, CUSTOMER_CREATION)))
        return value
    if key == "order_number_source":
        if value not in ORDER_NUMBER_SOURCES:
            raise _fail(key, value, " or ".join(map(repr, ORDER_NUMBER_SOURCES)))
        return value
    if key in ("processing_status", "payment_method"):
        if not isinstance(value, str) or not _CODE.match(value):
            raise _fail(key, value, "a Commerce code: lower-case letters, digits and '_', starting with a letter")
        return value
    if key in _INT_BOUNDS:
        low, high = _INT_BOUNDS[key]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise _fail(key, value, f"an integer from {low} to {high}")
        return value
    if key == "store_by_marketplace":
        if not isinstance(value, dict) or not value:
            raise _fail(key, value, "a non-empty object of Amazon marketplace id -> Commerce store code")
        for marketplace, store in value.items():
            if not _MARKETPLACE_ID.match(str(marketplace)):
                raise _fail(f"{key}.{marketplace}", marketplace, "an Amazon marketplace id such as 'ATVPDKIKX0DER'")
            if not isinstance(store, str) or not _CODE.match(store):
                raise _fail(f"{key}.{marketplace}", store, "a Commerce store view code such as 'default'")
        return dict(value)
    if key == "stores":
        if not isinstance(value, dict) or not value:
            raise _fail(key, value, 'a non-empty object of store code -> {"store_id", "website_id", "currency"}')
        for code, store in value.items():
            if not _CODE.match(str(code)):
                raise _fail(f"{key}.{code}", code, "a Commerce store view code such as 'default'")
            ok = (
                isinstance(store, dict)
                and set(store) <= {"store_id", "website_id", "currency"}
                and all(
                    isinstance(store.get(k), int) and not isinstance(store.get(k), bool) and store[k] >= 0
                    for k in ("store_id", "website_id")
                )
                and (
                    store.get("currency") is None
                    or (isinstance(store["currency"], str) and re.fullmatch(r"[A-Z]{3}", store["currency"]))
                )
            )
            if not ok:
                raise _fail(
                    f"{key}.{code}", store, '{"store_id": int, "website_id": int, "currency": "USD" (optional)}'
                )
        return {code: dict(store) for code, store in value.items()}
    if key == "landing_uri":
        if value is not None and (not isinstance(value, str) or not value.startswith(_LANDING_SCHEMES)):
            raise _fail(key, value, "null (the local .local/landing folder) or a file:// or s3:// URI")
        return value
    if key == "landing_conn_id":
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise _fail(key, value, "null or an Airflow connection id (e.g. aws_default)")
        return value
    raise _fail(key, value, "one of " + ", ".join(_FIELDS))  # pragma: no cover - guarded by the caller


def parse_settings(raw: str | dict | None) -> OrderSettings:
    """Parse and validate the Variable's JSON (a string or an already-decoded dict); None or "" gives the defaults."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return OrderSettings()
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise SettingsError(
                f"{VARIABLE_KEY}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
            ) from None
    if not isinstance(raw, dict):
        raise SettingsError(f"{VARIABLE_KEY}: expected a JSON object, got {type(raw).__name__}")
    unknown = sorted(set(raw) - set(_FIELDS))
    if unknown:
        raise SettingsError(
            f"{VARIABLE_KEY}: unknown key(s) {', '.join(map(repr, unknown))}; allowed keys: {', '.join(_FIELDS)}"
        )
    settings = OrderSettings(**{key: _check(key, value) for key, value in raw.items()})
    missing = sorted({code for code in settings.store_by_marketplace.values() if code not in settings.stores})
    if missing:
        raise SettingsError(
            f"{VARIABLE_KEY}: store_by_marketplace names store(s) {', '.join(map(repr, missing))} "
            f"that 'stores' does not define; known: {', '.join(settings.stores)}"
        )
    return settings


def load_settings() -> OrderSettings:
    """Read and validate the Airflow Variable (call inside a task, never at DAG-parse time)."""
    from airflow.sdk import Variable

    return parse_settings(Variable.get(VARIABLE_KEY, default=None))
