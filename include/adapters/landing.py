"""The landing store: raw searchOrders pages as NDJSON through Airflow's ``ObjectStoragePath``.

Layout: ``<base_uri>/<run_key>/page-00001.ndjson``, one file per non-empty API
page, one Amazon ``Order`` per line, written as each page arrives, so memory
stays flat however large the window. The same code writes ``file://`` (the
local default, ``<project>/.local/landing``) and ``s3://bucket/prefix`` (the
Amazon provider's S3 filesystem, credentials and endpoint from an Airflow AWS
connection, ``conn_id``). Downstream tasks get a small :class:`LandingManifest`
through XCom, never the orders themselves.

Every line is encrypted (:class:`~include.domain.buyer_data.BuyerDataCipher`, keys of the
``amazon_pii_key`` connection): one Fernet token per order, so a page stays NDJSON,
its line numbers stay the replay addresses of set-aside orders, and a page written
before encryption (a line of clear JSON) still reads. :func:`rewrite_pages` re-encrypts
or redacts pages in place (key rotation, retention).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from include.adapters.paths import LOCAL_DIR
from include.domain.buyer_data import BuyerDataCipher, is_token

PAGE_PATTERN = "page-*.ndjson"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def default_landing_uri() -> str:
    """``file://<project>/.local/landing``, the local landing store."""
    return (LOCAL_DIR / "landing").as_uri()


def safe_run_key(run_key: str) -> str:
    """A run id turned into one safe path segment (``scheduled__2026-03-01T10:00:00+00:00`` → ``scheduled__2026-03-01T10_00_00_00_00``)."""
    key = _UNSAFE.sub("_", run_key).strip("._")
    if not key:
        raise ValueError(f"run key {run_key!r} has no usable characters")
    return key


@dataclass(frozen=True)
class LandingManifest:
    """Where a run's raw pages landed and how much they hold (small and JSON-serialisable, for XCom)."""

    base_uri: str
    run_key: str
    files: list[str] = field(default_factory=list)
    pages: int = 0
    orders: int = 0
    bytes: int = 0
    conn_id: str | None = None

    @property
    def uri(self) -> str:
        """The run's folder in the landing store."""
        return f"{self.base_uri.rstrip('/')}/{self.run_key}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LandingManifest:
        return cls(**data)


def _path(uri: str, conn_id: str | None):
    from airflow.sdk import ObjectStoragePath

    return ObjectStoragePath(uri, conn_id=conn_id) if conn_id else ObjectStoragePath(uri)


def _line(order: Any, cipher: BuyerDataCipher) -> bytes:
    """One landed order as an encrypted NDJSON line (a line read back as text is written as that text)."""
    text = order if isinstance(order, str) else json.dumps(order, separators=(",", ":"), ensure_ascii=False)
    # Unpaired surrogates (invalid text Amazon could send as JSON escapes) are written back as escapes.
    return cipher.encrypt(text.encode("utf-8", "backslashreplace")) + b"\n"


def _order_of(raw: bytes, cipher: BuyerDataCipher) -> Any:
    """A landed line read back: the order, or the line's text when it is not JSON (a clear line from before encryption)."""
    raw = raw.strip()
    if is_token(raw):
        raw = cipher.decrypt(raw)
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")


def write_pages(
    base_uri: str,
    run_key: str,
    pages: Iterable[list[dict[str, Any]]],
    conn_id: str | None = None,
    *,
    cipher: BuyerDataCipher,
) -> LandingManifest:
    """Write each page of orders as one NDJSON file under ``<base_uri>/<run_key>/`` and describe what was written.

    Each line is one order, encrypted with ``cipher``.

    Page files left by an earlier attempt of the same run are removed first, so a retried
    extract never mixes its pages with stale ones.
    """
    key = safe_run_key(run_key)
    folder = _path(f"{base_uri.rstrip('/')}/{key}", conn_id)
    if folder.protocol in ("file", "local", ""):
        folder.mkdir(parents=True, exist_ok=True)
    if folder.exists():
        for stale in folder.glob(PAGE_PATTERN):
            stale.unlink()
    files: list[str] = []
    page_count = order_count = byte_count = 0
    for page in pages:
        page_count += 1
        if not page:
            continue
        target = folder / f"page-{page_count:05d}.ndjson"
        data = b"".join(_line(order, cipher) for order in page)
        with target.open("wb") as handle:
            handle.write(data)
        files.append(str(target))
        order_count += len(page)
        byte_count += len(data)
    return LandingManifest(
        base_uri=base_uri.rstrip("/"),
        run_key=key,
        files=files,
        pages=page_count,
        orders=order_count,
        bytes=byte_count,
        conn_id=conn_id,
    )


@dataclass(frozen=True)
class LandedOrder:
    """One landed order as read back, and where it is: ``<page file URI>#<line>`` (for replay)."""

    order: Any
    source: str


def read_landed(
    source: LandingManifest | dict[str, Any] | str, conn_id: str | None = None, *, cipher: BuyerDataCipher
) -> Iterator[LandedOrder]:
    """Stream the landed orders back, decrypted, one at a time, in page order, each with its page file and line.

    ``source`` is a manifest (or its ``to_dict()``), a run folder URI (every
    ``page-*.ndjson`` in it) or one NDJSON file URI. A line that is not JSON comes
    back as its text, so that validation sets it aside like any malformed order. A
    line under a key ``cipher`` does not hold raises ``InvalidToken``.
    """
    if isinstance(source, dict):
        source = LandingManifest.from_dict(source)
    if isinstance(source, LandingManifest):
        paths = [_path(uri, source.conn_id) for uri in source.files]
    else:
        root = _path(source, conn_id)
        paths = sorted(root.glob(PAGE_PATTERN), key=lambda p: p.name) if root.is_dir() else [root]
    for path in paths:
        with path.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                if raw.strip():
                    yield LandedOrder(_order_of(raw, cipher), f"{path}#{number}")


def read_orders(
    source: LandingManifest | dict[str, Any] | str, conn_id: str | None = None, *, cipher: BuyerDataCipher
) -> Iterator[Any]:
    """The landed orders alone (see :func:`read_landed`)."""
    return (landed.order for landed in read_landed(source, conn_id, cipher=cipher))


def landed_pages(base_uri: str, conn_id: str | None = None) -> Iterator[Any]:
    """Every page file of every run in the landing store (``<base_uri>/<run_key>/page-*.ndjson``)."""
    root = _path(base_uri.rstrip("/"), conn_id)
    if not root.exists():
        return
    for run in sorted(root.iterdir(), key=lambda p: p.name):
        if run.is_dir():
            yield from sorted(run.glob(PAGE_PATTERN), key=lambda p: p.name)


def rewrite_page(
    path: Any, cipher: BuyerDataCipher, change: Callable[[list[Any]], list[Any] | None], *, rotate: bool = False
) -> bool:
    """Read a page's orders, let ``change`` return new ones (None: none changed), and write them back encrypted.

    ``change`` gets one entry per line (None for a blank line) and returns as many.

    With ``rotate``, a page ``change`` leaves alone is written back too, every line a token of
    ``cipher``'s first key (clear lines from before encryption included). Line numbers never
    move. Returns whether the page was written.
    """
    with path.open("rb") as handle:
        lines = handle.read().split(b"\n")
    if lines and not lines[-1]:
        lines.pop()
    orders = [_order_of(raw, cipher) if raw.strip() else None for raw in lines]
    changed = change(orders)
    if changed is None:
        if not rotate:
            return False
        data = b"".join((cipher.rotate(raw.strip()) if raw.strip() else raw) + b"\n" for raw in lines)
    else:
        data = b"".join(
            _line(order, cipher) if raw.strip() else raw + b"\n" for raw, order in zip(lines, changed, strict=True)
        )
    with path.open("wb") as handle:
        handle.write(data)
    return True
