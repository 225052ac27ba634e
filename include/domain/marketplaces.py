"""Amazon's marketplaces: id, country, region and the currency orders there are paid in.

From Amazon's SP-API "Marketplace IDs" table
(https://developer-docs.amazon.com/sp-api/docs/marketplace-ids). The region
says which SP-API endpoint serves the marketplace (``sellingpartnerapi-na``,
``-eu``, ``-fe``). The currency is the one Amazon prices orders in, so the
Commerce store view an order goes to must have it as its base currency
(checked against Commerce's ``storeConfigs`` before an import, see
:mod:`include.domain.commerce_stores`).
"""

from __future__ import annotations

from dataclasses import dataclass

REGIONS = ("NA", "EU", "FE")


@dataclass(frozen=True)
class Marketplace:
    """One Amazon marketplace."""

    marketplace_id: str
    country: str  # Amazon's country code (UK, not GB, as Amazon's table has it)
    domain: str
    currency: str
    region: str

    @property
    def iso_country(self) -> str:
        """The ISO 3166 country code addresses use (GB for Amazon's UK)."""
        return "GB" if self.country == "UK" else self.country

    def label(self) -> str:
        """``A1F83G8C2ARO7P (UK)``: for messages."""
        return f"{self.marketplace_id} ({self.country})"


_TABLE: tuple[tuple[str, str, str, str, str], ...] = (
    # North America: sellingpartnerapi-na.amazon.com
    ("A2EUQ1WTGCTBG2", "CA", "amazon.ca", "CAD", "NA"),
    ("ATVPDKIKX0DER", "US", "amazon.com", "USD", "NA"),
    ("A1AM78C64UM0Y8", "MX", "amazon.com.mx", "MXN", "NA"),
    ("A2Q3Y263D00KWC", "BR", "amazon.com.br", "BRL", "NA"),
    # Europe (with the Middle East, Africa and India): sellingpartnerapi-eu.amazon.com
    ("A28R8C7NBKEWEA", "IE", "amazon.ie", "EUR", "EU"),
    ("A1RKKUPIHCS9HS", "ES", "amazon.es", "EUR", "EU"),
    ("A1F83G8C2ARO7P", "UK", "amazon.co.uk", "GBP", "EU"),
    ("A13V1IB3VIYZZH", "FR", "amazon.fr", "EUR", "EU"),
    ("AMEN7PMS3EDWL", "BE", "amazon.com.be", "EUR", "EU"),
    ("A1805IZSGTT6HS", "NL", "amazon.nl", "EUR", "EU"),
    ("A1PA6795UKMFR9", "DE", "amazon.de", "EUR", "EU"),
    ("APJ6JRA9NG5V4", "IT", "amazon.it", "EUR", "EU"),
    ("A2NODRKZP88ZB9", "SE", "amazon.se", "SEK", "EU"),
    ("AE08WJ6YKNBMC", "ZA", "amazon.co.za", "ZAR", "EU"),
    ("A1C3SOZRARQ6R3", "PL", "amazon.pl", "PLN", "EU"),
    ("ARBP9OOSHTCHU", "EG", "amazon.eg", "EGP", "EU"),
    ("A33AVAJ2PDY3EV", "TR", "amazon.com.tr", "TRY", "EU"),
    ("A17E79C6D8DWNP", "SA", "amazon.sa", "SAR", "EU"),
    ("A2VIGQ35RCS4UG", "AE", "amazon.ae", "AED", "EU"),
    ("A21TJRUUN4KGV", "IN", "amazon.in", "INR", "EU"),
    # Far East: sellingpartnerapi-fe.amazon.com
    ("A19VAU5U5O7RUS", "SG", "amazon.sg", "SGD", "FE"),
    ("A39IBJ37TRP1C6", "AU", "amazon.com.au", "AUD", "FE"),
    ("A1VC38T7YXB528", "JP", "amazon.co.jp", "JPY", "FE"),
)

#: Every marketplace by id.
MARKETPLACES: dict[str, Marketplace] = {row[0]: Marketplace(*row) for row in _TABLE}


def marketplace(marketplace_id: str) -> Marketplace | None:
    """The marketplace with this id, or None for an id Amazon does not list."""
    return MARKETPLACES.get(marketplace_id)


def label(marketplace_id: str) -> str:
    """``A1F83G8C2ARO7P (UK)`` for a known marketplace, the bare id otherwise."""
    known = MARKETPLACES.get(marketplace_id)
    return known.label() if known else marketplace_id
