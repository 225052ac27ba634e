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

* ``customer_stores`` — the store views Amazon customer accounts are created in
  (``customer_creation = "create"``), one per Commerce website that a mapped
  store belongs to: dedicated store views with "Disable Email Communications"
  set, so that Magento sends no account e-mail to an Amazon buyer (README, "Commerce
  stores and buyer e-mails"). Default ``amazon_customers`` (website
  ``base``), ``amazon_ca`` and ``amazon_mx``, as the sandbox seeds them.

Store ids, websites and base currencies are not settings: they are looked up in
Commerce by store view code before anything is imported
(:mod:`include.domain.commerce_stores`). The former ``stores`` key is refused
with a message saying so.

* ``landing_uri`` / ``landing_conn_id`` — where raw SP-API pages land: null for
  ``file://<project>/.local/landing``, or ``s3://bucket/prefix`` with an AWS
  connection id.

* ``fba_placeholder_address`` — import FBA orders for which Amazon withholds the
  buyer and delivery address (it does for many FBA orders) with a clearly marked
  placeholder address and a guest customer, as Amazon Sales Channel does;
  ``true`` by default. ``false`` keeps such orders out with a reason.
* ``shipping_methods`` — the Commerce shipping method (``carrier_method`` code)
  an order gets, per Amazon marketplace id (``"*"``: every other marketplace),
  per Amazon fulfilment service level (``STANDARD``, ``EXPEDITED``,
  ``NEXT_DAY``...; ``"*"``: any other level). Prime orders look up
  ``PRIME_<LEVEL>``, then ``PRIME``, before the level itself. The default maps
  every level to ``amazon_<level>`` and Prime orders to ``amazon_prime...``;
  a marketplace entry is tried before the ``"*"`` entry, key by key.

Pipeline knobs (no Amazon Sales Channel counterpart): ``chunk_size`` orders per
mapped Commerce task, ``commerce_concurrency`` concurrent Commerce calls, and
``overlap_minutes`` by which each extraction window reaches back.
``lease_seconds`` (600): how long a task's claim on an order or a package lasts
(:mod:`include.channel_db.leases`); a running task renews it every third of that, so it
only matters when a worker dies: its orders wait that long for the next run.

Quarantine retry policy (:mod:`include.domain.retry_policy`): an order whose import
failed is tried again after ``retry_base_minutes`` × 2^(attempts−1) minutes (0: every
run), at most ``retry_max_delay_minutes`` apart, until ``retry_max_attempts`` failed
attempts; then it waits for an operator (a re-sync by order id still tries it).

* ``pii_retention_days`` — how many days buyer data is kept after an order's last
  Amazon update in a final status (shipped, cancelled): 30, Amazon's Data
  Protection Policy maximum, by default; ``amazon_pii_retention`` purges it after that.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from include.domain.marketplaces import MARKETPLACES
from include.domain.retry_policy import RetryPolicy

VARIABLE_KEY = "amazon_order_settings"

CUSTOMER_CREATION = ("guest", "create")
ORDER_NUMBER_SOURCES = ("commerce", "amazon")

DEFAULT_STORE_BY_MARKETPLACE: dict[str, str] = {
    "ATVPDKIKX0DER": "default",  # amazon.com (US, USD)
    "A2EUQ1WTGCTBG2": "amazon_ca",  # amazon.ca (CA, CAD)
    "A1AM78C64UM0Y8": "amazon_mx",  # amazon.com.mx (MX, MXN)
}

#: Store views (e-mails disabled) that Amazon customer accounts are created in, one per website.
DEFAULT_CUSTOMER_STORES: tuple[str, ...] = ("amazon_customers", "amazon_ca", "amazon_mx")
#: Keys of earlier releases: what replaced them (the message an old Variable gets).
RETIRED_KEYS = {
    "stores": "store ids, websites and currencies are now looked up in Commerce by store view code "
    "(GET /V1/store/storeViews, /V1/store/storeConfigs, /V1/store/websites); delete 'stores' from the Variable",
}
#: Amazon fulfilment service levels (Orders v2026-01-01 ``fulfillmentServiceLevel``).
SERVICE_LEVELS = (
    "EXPEDITED",
    "FREE_ECONOMY",
    "NEXT_DAY",
    "PRIORITY",
    "SAME_DAY",
    "SECOND_DAY",
    "SCHEDULED",
    "STANDARD",
)
#: Service level (or Prime) -> Commerce shipping method, per marketplace id ("*": any marketplace, any level).
DEFAULT_SHIPPING_METHODS: dict[str, dict[str, str]] = {
    "*": {
        "*": "amazon_standard",
        **{level: f"amazon_{level.lower()}" for level in SERVICE_LEVELS},
        "PRIME": "amazon_prime",
        "PRIME_SAME_DAY": "amazon_prime_same_day",
        "PRIME_NEXT_DAY": "amazon_prime_next_day",
        "PRIME_SECOND_DAY": "amazon_prime_second_day",
    }
}
_LANDING_SCHEMES = ("file://", "s3://")
_SHIPPING_KEY = re.compile(r"^(\*|PRIME|(PRIME_)?[A-Z][A-Z_]{1,31})$")
_SHIPPING_METHOD = re.compile(r"^[a-z][a-z0-9]*_[A-Za-z0-9_]{1,60}$")

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
    customer_stores: tuple[str, ...] = DEFAULT_CUSTOMER_STORES
    landing_uri: str | None = None
    landing_conn_id: str | None = None
    fba_placeholder_address: bool = True
    shipping_methods: dict[str, dict[str, str]] = field(
        default_factory=lambda: {k: dict(v) for k, v in DEFAULT_SHIPPING_METHODS.items()}
    )
    retry_max_attempts: int = RetryPolicy.max_attempts
    retry_base_minutes: int = RetryPolicy.base_minutes
    retry_max_delay_minutes: int = RetryPolicy.max_delay_minutes
    pii_retention_days: int = 30
    lease_seconds: int = 600

    def shipping_method_for(self, marketplace_id: str | None, level: str | None, prime: bool) -> str:
        """The Commerce shipping method for an order's marketplace, service level and Prime flag."""
        level = (level or "STANDARD").upper()
        keys = [f"PRIME_{level}", "PRIME", level, "*"] if prime else [level, "*"]
        tables = [self.shipping_methods.get(marketplace_id or ""), self.shipping_methods.get("*")]
        for key in keys:
            for table in tables:
                if table and key in table:
                    return table[key]
        return DEFAULT_SHIPPING_METHODS["*"]["*"]

    @property
    def retry_policy(self) -> RetryPolicy:
        """The quarantine's retry policy under these settings."""
        return RetryPolicy(self.retry_max_attempts, self.retry_base_minutes, self.retry_max_delay_minutes)

    def store_code_for(self, marketplace_id: str) -> str | None:
        """The Commerce store view code for an Amazon marketplace, or None when unmapped."""
        return self.store_by_marketplace.get(marketplace_id)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable copy (for XCom, run reports and the Variable itself)."""
        out = asdict(self)
        out["customer_stores"] = list(self.customer_stores)
        return out


_INT_BOUNDS: dict[str, tuple[int, int]] = {
    "chunk_size": (1, 1000),
    "commerce_concurrency": (1, 64),
    "overlap_minutes": (0, 1440),
    "retry_max_attempts": (1, 1000),
    "retry_base_minutes": (0, 10080),
    "retry_max_delay_minutes": (0, 43200),
    "pii_retention_days": (0, 3650),
    "lease_seconds": (5, 86400),
}
_FIELDS = tuple(OrderSettings.__dataclass_fields__)


def _fail(key: str, value: Any, allowed: str) -> SettingsError:
    return SettingsError(f"{VARIABLE_KEY}: invalid {key!r} = {value!r}; allowed: {allowed}")


def _check(key: str, value: Any) -> Any:
    if key in ("import_enabled", "fba_import", "fba_placeholder_address"):
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
            if not _MARKETPLACE_ID.match(str(marketplace)) or marketplace not in MARKETPLACES:
                raise _fail(
                    f"{key}.{marketplace}",
                    marketplace,
                    "an Amazon marketplace id such as 'ATVPDKIKX0DER' (include/domain/marketplaces.py)",
                )
            if not isinstance(store, str) or not _CODE.match(store):
                raise _fail(f"{key}.{marketplace}", store, "a Commerce store view code such as 'default'")
        return dict(value)
    if key == "customer_stores":
        if (
            not isinstance(value, list)
            or not value
            or not all(isinstance(code, str) and _CODE.match(code) for code in value)
            or len(set(value)) != len(value)
        ):
            raise _fail(
                key, value, 'a non-empty list of distinct Commerce store view codes such as ["amazon_customers"]'
            )
        return tuple(value)
    if key == "shipping_methods":
        if not isinstance(value, dict) or not value:
            raise _fail(
                key, value, 'an object of marketplace id or "*" -> {service level, PRIME, PRIME_<LEVEL> or "*": method}'
            )
        for marketplace, methods in value.items():
            if marketplace != "*" and not _MARKETPLACE_ID.match(str(marketplace)):
                raise _fail(f"{key}.{marketplace}", marketplace, "an Amazon marketplace id or '*'")
            if not isinstance(methods, dict) or not methods:
                raise _fail(
                    f"{key}.{marketplace}", methods, 'a non-empty object such as {"STANDARD": "flatrate_flatrate"}'
                )
            for level, method in methods.items():
                if not _SHIPPING_KEY.match(str(level)):
                    raise _fail(
                        f"{key}.{marketplace}.{level}",
                        level,
                        "a service level such as 'NEXT_DAY', 'PRIME', 'PRIME_NEXT_DAY' or '*'",
                    )
                if not isinstance(method, str) or not _SHIPPING_METHOD.match(method):
                    raise _fail(
                        f"{key}.{marketplace}.{level}", method, "a Commerce shipping method code 'carrier_method'"
                    )
        return {marketplace: dict(methods) for marketplace, methods in value.items()}
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
    retired = sorted(set(raw) & set(RETIRED_KEYS))
    if retired:
        raise SettingsError(f"{VARIABLE_KEY}: {retired[0]!r} is no longer a setting: {RETIRED_KEYS[retired[0]]}")
    unknown = sorted(set(raw) - set(_FIELDS))
    if unknown:
        raise SettingsError(
            f"{VARIABLE_KEY}: unknown key(s) {', '.join(map(repr, unknown))}; allowed keys: {', '.join(_FIELDS)}"
        )
    return OrderSettings(**{key: _check(key, value) for key, value in raw.items()})


def load_settings(variable: str = VARIABLE_KEY) -> OrderSettings:
    """Read and validate the settings Variable (an account's; call inside a task, never at DAG-parse time)."""
    from airflow.sdk import Variable

    raw = Variable.get(variable, default=None)
    if variable == VARIABLE_KEY:
        return parse_settings(raw)
    try:
        return parse_settings(raw)
    except SettingsError as exc:  # name the account's Variable, not the default one
        raise SettingsError(str(exc).replace(VARIABLE_KEY, variable, 1)) from None
