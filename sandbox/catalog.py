"""The product catalogue shared by the SP-API generator and the Commerce sandbox.

The generator sells these SKUs on Amazon; the Commerce sandbox seeds all of them
except ``UNKNOWN_SKUS``, which stay missing on purpose so that a share of the
generated orders exercises the "unknown SKU" quarantine path.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    price: Decimal  # USD list price; other marketplaces convert it
    asin: str


_FAMILIES = [
    ("MUG", "Ceramic mug", "12.90"),
    ("TEE", "Organic cotton t-shirt", "19.50"),
    ("CAP", "Baseball cap", "15.00"),
    ("BTL", "Insulated bottle", "24.99"),
    ("BAG", "Canvas tote bag", "17.25"),
    ("NBK", "Dot-grid notebook", "9.99"),
    ("PEN", "Gel pen set", "6.49"),
    ("LMP", "Desk lamp", "39.00"),
    ("CBL", "USB-C cable", "11.99"),
    ("CHG", "Wall charger", "21.49"),
]

PRODUCTS: list[Product] = [
    Product(
        sku=f"{code}-{variant:03d}",
        name=f"{name} #{variant}",
        price=(Decimal(price) + Decimal(variant) / 4).quantize(Decimal("0.01")),
        asin=f"B0{index:02d}{variant:03d}XYZ"[:10],
    )
    for index, (code, name, price) in enumerate(_FAMILIES)
    for variant in range(1, 7)
]

#: SKUs sold on Amazon but absent from the Commerce catalogue by default.
UNKNOWN_SKUS: frozenset[str] = frozenset({"LMP-006", "CHG-006"})

BY_SKU: dict[str, Product] = {p.sku: p for p in PRODUCTS}

#: Amazon marketplaces the sandbox sells on: id -> (country, currency, FX from USD).
MARKETPLACES: dict[str, tuple[str, str, Decimal]] = {
    "ATVPDKIKX0DER": ("US", "USD", Decimal("1")),
    "A2EUQ1WTGCTBG2": ("CA", "CAD", Decimal("1.37")),
    "A1AM78C64UM0Y8": ("MX", "MXN", Decimal("18.20")),
    "A2Q3Y263D00KWC": ("BR", "BRL", Decimal("5.60")),
    "A1F83G8C2ARO7P": ("GB", "GBP", Decimal("0.79")),
    "A1PA6795UKMFR9": ("DE", "EUR", Decimal("0.92")),
    "A13V1IB3VIYZZH": ("FR", "EUR", Decimal("0.92")),
    "A2NODRKZP88ZB9": ("SE", "SEK", Decimal("10.50")),
    "A1C3SOZRARQ6R3": ("PL", "PLN", Decimal("4.00")),
    "A33AVAJ2PDY3EV": ("TR", "TRY", Decimal("34.00")),
    "A1VC38T7YXB528": ("JP", "JPY", Decimal("150")),
}

#: Commerce websites the sandbox seeds: website_id -> (code, name, base currency). Each currency has its own
#: website, as in a Magento shop whose catalog price scope is "Website" (base currency is set per website).
WEBSITES: dict[int, tuple[str, str, str]] = {
    1: ("base", "Main Website", "USD"),
    2: ("ca", "Canada", "CAD"),
    3: ("mx", "Mexico", "MXN"),
}

#: Commerce store views the sandbox seeds: code -> (store_id, website_id, currency).
STORES: dict[str, tuple[int, int, str]] = {
    "default": (1, 1, "USD"),
    "amazon_ca": (2, 2, "CAD"),
    "amazon_mx": (3, 3, "MXN"),
    "amazon_customers": (4, 1, "USD"),
}

#: Store views ``python -m sandbox serve --marketplace-stores`` opens (as ``POST /_sandbox/stores`` would) for the
#: marketplaces the seeded stores do not serve: marketplace id -> (store view code, website code). One website per
#: currency (DE and FR share the EUR website); e-mails disabled, as on every Amazon-only view.
MARKETPLACE_STORES: dict[str, tuple[str, str]] = {
    "A2Q3Y263D00KWC": ("amazon_br", "br"),
    "A1F83G8C2ARO7P": ("amazon_uk", "uk"),
    "A1PA6795UKMFR9": ("amazon_de", "eu"),
    "A13V1IB3VIYZZH": ("amazon_fr", "eu"),
    "A2NODRKZP88ZB9": ("amazon_se", "se"),
    "A1C3SOZRARQ6R3": ("amazon_pl", "pl"),
    "A33AVAJ2PDY3EV": ("amazon_tr", "tr"),
    "A1VC38T7YXB528": ("amazon_jp", "jp"),
}

#: Store views seeded with "Disable Email Communications" (``system/smtp/disable``) set: the Amazon-only views.
EMAILS_DISABLED: frozenset[str] = frozenset({"amazon_ca", "amazon_mx", "amazon_customers"})
