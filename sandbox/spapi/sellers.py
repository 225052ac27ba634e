"""Selling partners of the SP-API sandbox: each with its own region, marketplaces, orders and confirmations.

The built-in seller (refresh token ``credentials.LWA_REFRESH_TOKEN``) sells on every
marketplace of :data:`sandbox.catalog.MARKETPLACES`; ``POST /_sandbox/sellers``
registers more, each with the region it was authorised in and its marketplaces.
Usage plans are per refresh token already (:class:`sandbox.spapi.rate_limits.RateLimiter`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from sandbox import credentials
from sandbox.catalog import MARKETPLACES
from sandbox.spapi.store import OrderStore

BUILTIN_SELLER = "A3SANDBOXSELLER0"
REGIONS = ("NA", "EU", "FE")
#: Region, name, language and domain of the marketplaces the sandbox knows (Amazon's "Marketplace IDs" table).
MARKETPLACE_INFO: dict[str, tuple[str, str, str, str]] = {
    "ATVPDKIKX0DER": ("NA", "Amazon.com", "en_US", "www.amazon.com"),
    "A2EUQ1WTGCTBG2": ("NA", "Amazon.ca", "en_CA", "www.amazon.ca"),
    "A1AM78C64UM0Y8": ("NA", "Amazon.com.mx", "es_MX", "www.amazon.com.mx"),
    "A2Q3Y263D00KWC": ("NA", "Amazon.com.br", "pt_BR", "www.amazon.com.br"),
    "A1F83G8C2ARO7P": ("EU", "Amazon.co.uk", "en_GB", "www.amazon.co.uk"),
    "A1PA6795UKMFR9": ("EU", "Amazon.de", "de_DE", "www.amazon.de"),
    "A13V1IB3VIYZZH": ("EU", "Amazon.fr", "fr_FR", "www.amazon.fr"),
    "A2NODRKZP88ZB9": ("EU", "Amazon.se", "sv_SE", "www.amazon.se"),
    "A1C3SOZRARQ6R3": ("EU", "Amazon.pl", "pl_PL", "www.amazon.pl"),
    "A33AVAJ2PDY3EV": ("EU", "Amazon.com.tr", "tr_TR", "www.amazon.com.tr"),
    "A1VC38T7YXB528": ("FE", "Amazon.co.jp", "ja_JP", "www.amazon.co.jp"),
}


def region_of(marketplace_id: str) -> str | None:
    info = MARKETPLACE_INFO.get(marketplace_id)
    return info[0] if info else None


@dataclass
class Seller:
    """One selling partner: its orders (own store), shipment confirmations and marketplaces."""

    selling_partner_id: str
    refresh_token: str
    region: str | None  # None: the built-in seller, authorised in every region
    marketplace_ids: tuple[str, ...]
    store: OrderStore = field(default_factory=OrderStore)
    confirmations: list[dict[str, Any]] = field(default_factory=list)  # guarded by store.lock

    def known_marketplaces(self) -> set[str]:
        return set(self.marketplace_ids) | self.store.marketplaces()

    def participations(self, region: str | None) -> list[dict[str, Any]]:
        """``MarketplaceParticipationList`` (Sellers API v1) of the marketplaces in ``region`` (None: all)."""
        listed = []
        for marketplace_id in self.marketplace_ids:
            info = MARKETPLACE_INFO.get(marketplace_id)
            if info is None or (region is not None and info[0] != region):
                continue
            country, currency, _ = MARKETPLACES[marketplace_id]
            listed.append({
                "marketplace": {
                    "id": marketplace_id, "name": info[1], "countryCode": country,
                    "defaultCurrencyCode": currency, "defaultLanguageCode": info[2], "domainName": info[3],
                },
                "participation": {"isParticipating": True, "hasSuspendedListings": False},
                "storeName": f"Sandbox store {self.selling_partner_id}",
            })  # fmt: skip
        return listed

    def to_json(self) -> dict[str, Any]:
        return {
            "selling_partner_id": self.selling_partner_id,
            "region": self.region,
            "marketplace_ids": list(self.marketplace_ids),
            "orders": len(self.store),
        }


class SellerError(ValueError):
    """An invalid seller registration or an unknown seller."""


class Sellers:
    """The sandbox's sellers: the built-in one and those registered through the admin API."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.builtin = Seller(BUILTIN_SELLER, credentials.LWA_REFRESH_TOKEN, None, tuple(MARKETPLACES))
        self._by_id: dict[str, Seller] = {BUILTIN_SELLER: self.builtin}

    def confine_builtin(self, region: str) -> None:
        """Make the built-in seller one of ``region`` (its marketplaces there only): with several region endpoints."""
        self.builtin.region = region
        self.builtin.marketplace_ids = tuple(m for m in MARKETPLACES if region_of(m) == region)

    def register(self, body: Any) -> Seller:
        """Register (or replace) a seller from ``{selling_partner_id, refresh_token, region, marketplace_ids}``."""
        if not isinstance(body, dict):
            raise SellerError("expected {selling_partner_id, refresh_token, region, marketplace_ids}")
        seller_id, token, region = body.get("selling_partner_id"), body.get("refresh_token"), body.get("region")
        ids = body.get("marketplace_ids")
        if not isinstance(seller_id, str) or not seller_id or seller_id == BUILTIN_SELLER:
            raise SellerError("selling_partner_id must be a non-empty string other than the built-in seller's")
        if not isinstance(token, str) or not token.startswith("Atzr|"):
            raise SellerError("refresh_token must be a string starting with 'Atzr|'")
        if region not in REGIONS:
            raise SellerError(f"region must be one of {', '.join(REGIONS)}")
        if not isinstance(ids, list) or not ids or not all(isinstance(m, str) for m in ids):
            raise SellerError("marketplace_ids must be a non-empty list of marketplace ids")
        wrong = [m for m in ids if region_of(m) != region]
        if wrong:
            raise SellerError(f"marketplace(s) {', '.join(wrong)} are not in region {region}")
        seller = Seller(seller_id, token, region, tuple(ids))
        with self._lock:
            clash = [s for s in self._by_id.values() if s.refresh_token == token and s.selling_partner_id != seller_id]
            if clash:
                raise SellerError("another seller already has this refresh_token")
            self._by_id[seller_id] = seller
        return seller

    def get(self, seller_id: str | None) -> Seller:
        """The seller with this id (None or empty: the built-in seller)."""
        if not seller_id:
            return self.builtin
        with self._lock:
            seller = self._by_id.get(seller_id)
        if seller is None:
            raise SellerError(f"no seller {seller_id}")
        return seller

    def by_token(self, refresh_token: str) -> Seller | None:
        with self._lock:
            return next((s for s in self._by_id.values() if s.refresh_token == refresh_token), None)

    def all(self) -> list[Seller]:
        with self._lock:
            return list(self._by_id.values())

    def reset(self) -> None:
        """Only the built-in seller, with no orders and no confirmations."""
        with self._lock:
            self._by_id = {BUILTIN_SELLER: self.builtin}
        self.builtin.store.clear()
        with self.builtin.store.lock:
            self.builtin.confirmations.clear()
