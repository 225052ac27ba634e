"""The settings' store map checked against the stores Commerce really has (pure functions).

Settings name Commerce store views by code only (``store_by_marketplace``,
``customer_stores``); ids, websites and base currencies come from Commerce's
own ``GET /V1/store/storeViews``, ``/V1/store/websites`` and
``/V1/store/storeConfigs`` (Magento's ``store-data-store-interface``,
``store-data-website-interface`` and ``store-data-store-config-interface``).
:func:`resolve_stores` turns those answers into a :class:`StoreSetup`, or
raises :class:`StoreSetupError` listing every problem at once, before anything
is imported:

* a store view the map names that Commerce does not have;
* a marketplace whose currency (:mod:`include.domain.marketplaces`) is not the
  base currency of its store view (Magento keeps order amounts in the order
  currency and the base currency; we import at rate 1, so they must agree);
* with ``customer_creation = "create"``: a customer store view Commerce does
  not have, or a website of a mapped store with no (or more than one) customer
  store view. Customers are created in that store view, which has Magento's
  "Disable Email Communications" set, so no account e-mail reaches a buyer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from include.domain.mapping import StoreRef
from include.domain.marketplaces import label, marketplace
from include.domain.settings import VARIABLE_KEY, OrderSettings, SettingsError


class StoreSetupError(SettingsError):
    """The settings name stores Commerce does not have, or that do not fit; the message lists every problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"{VARIABLE_KEY} does not fit the stores in Commerce: " + "; ".join(problems))


@dataclass(frozen=True)
class CommerceStore:
    """A Commerce store view as Commerce describes it."""

    code: str
    store_id: int
    website_id: int
    website_code: str
    base_currency: str | None

    def ref(self) -> StoreRef:
        return StoreRef(self.store_id, self.website_id, self.code, self.base_currency)


@dataclass(frozen=True)
class StoreSetup:
    """The checked store map: the store view of each marketplace, the customer store view of each website."""

    by_marketplace: dict[str, CommerceStore]
    customer_store_by_website: dict[int, CommerceStore]

    def order_store(self, marketplace_id: str) -> StoreRef | None:
        """The store view orders of this marketplace go to, or None when the settings map none."""
        store = self.by_marketplace.get(marketplace_id)
        return store.ref() if store else None

    def customer_store(self, website_id: int) -> CommerceStore | None:
        """The store view (e-mails disabled) Amazon customers of this website are created in."""
        return self.customer_store_by_website.get(website_id)

    def describe(self) -> list[str]:
        """One line per marketplace and customer store, for the settings report (no buyer data)."""
        lines = [
            f"{label(mp)} -> store view {s.code} (id {s.store_id}, website {s.website_code}, {s.base_currency})"
            for mp, s in self.by_marketplace.items()
        ]
        lines += [
            f"customers of website {s.website_code} -> store view {s.code} (id {s.store_id})"
            for s in self.customer_store_by_website.values()
        ]
        return lines


def commerce_stores(
    views: Iterable[Mapping[str, Any]], websites: Iterable[Mapping[str, Any]], configs: Iterable[Mapping[str, Any]]
) -> dict[str, CommerceStore]:
    """Store views by code from Commerce's three store answers (the admin store, id 0, left out)."""
    website_code = {int(w["id"]): str(w["code"]) for w in websites}
    currency = {str(c["code"]): c.get("base_currency_code") for c in configs}
    return {
        str(v["code"]): CommerceStore(
            code=str(v["code"]),
            store_id=int(v["id"]),
            website_id=int(v["website_id"]),
            website_code=website_code.get(int(v["website_id"]), str(v["website_id"])),
            base_currency=currency.get(str(v["code"])),
        )
        for v in views
        if int(v["id"]) != 0
    }


def resolve_stores(settings: OrderSettings, stores: Mapping[str, CommerceStore]) -> StoreSetup:
    """Check the settings' store views against ``stores`` (:func:`commerce_stores`); raise every problem found."""
    problems: list[str] = []
    known = ", ".join(sorted(stores)) or "none"
    by_marketplace: dict[str, CommerceStore] = {}
    for marketplace_id, code in settings.store_by_marketplace.items():
        store = stores.get(code)
        if store is None:
            problems.append(
                f"store_by_marketplace maps {label(marketplace_id)} to store view {code!r}, "
                f"which Commerce does not have (store views: {known})"
            )
            continue
        expected = marketplace(marketplace_id)
        if expected and store.base_currency != expected.currency:
            problems.append(
                f"{label(marketplace_id)} sells in {expected.currency} but store view {code!r} "
                f"(website {store.website_code!r}) has base currency {store.base_currency or 'unknown'}: "
                f"map it to a store view of a website whose base currency is {expected.currency}"
            )
            continue
        by_marketplace[marketplace_id] = store
    customer_store_by_website: dict[int, CommerceStore] = {}
    if settings.customer_creation == "create":
        listed: dict[int, list[CommerceStore]] = {}
        for code in settings.customer_stores:
            store = stores.get(code)
            if store is None:
                problems.append(f"customer_stores names store view {code!r}, which Commerce does not have")
            else:
                listed.setdefault(store.website_id, []).append(store)
        for website_id in sorted({s.website_id for s in by_marketplace.values()}):
            candidates = listed.get(website_id, [])
            website = next(s.website_code for s in by_marketplace.values() if s.website_id == website_id)
            if len(candidates) == 1:
                customer_store_by_website[website_id] = candidates[0]
            elif not candidates:
                problems.append(
                    f"customer_creation is 'create' but customer_stores has no store view of website {website!r}: "
                    "add that website's Amazon customer store view (e-mails disabled, see README)"
                )
            else:
                codes = ", ".join(s.code for s in candidates)
                problems.append(f"customer_stores names more than one store view of website {website!r}: {codes}")
    if problems:
        raise StoreSetupError(problems)
    return StoreSetup(by_marketplace, customer_store_by_website)
