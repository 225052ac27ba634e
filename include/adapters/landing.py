"""The landing store: raw searchOrders pages as NDJSON through Airflow's ``ObjectStoragePath``.

Layout: ``<base_uri>/<run_key>/page-00001.ndjson``, one file per non-empty API
page, one Amazon ``Order`` per line, written as each page arrives, so memory
stays flat however large the window. The same code writes ``file://`` (the
local default, ``<project>/.local/landing``) and ``s3://bucket/prefix`` (the
Amazon provider's S3 filesystem, credentials and endpoint from an Airflow AWS
connection, ``conn_id``). Downstream tasks get a small :class:`LandingManifest`
through XCom, never the orders themselves.

The files hold buyer data as Amazon returned it: protect the bucket like the
channel database.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from include.adapters.paths import LOCAL_DIR

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


def write_pages(
    base_uri: str, run_key: str, pages: Iterable[list[dict[str, Any]]], conn_id: str | None = None
) -> LandingManifest:
    """Write each page of orders as one NDJSON file under ``<base_uri>/<run_key>/`` and describe what was written.

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
        text = "".join(json.dumps(order, separators=(",", ":"), ensure_ascii=False) + "\n" for order in page)
        # Unpaired surrogates (invalid text Amazon could send as JSON escapes) are written back as escapes.
        data = text.encode("utf-8", "backslashreplace")
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


def read_landed(source: LandingManifest | dict[str, Any] | str, conn_id: str | None = None) -> Iterator[LandedOrder]:
    """Stream the landed orders back, one at a time, in page order, each with its page file and line.

    ``source`` is a manifest (or its ``to_dict()``), a run folder URI (every
    ``page-*.ndjson`` in it) or one NDJSON file URI. A line that is not JSON comes
    back as its text, so that validation sets it aside like any malformed order.
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
                    try:
                        order = json.loads(raw)
                    except ValueError:
                        order = raw.decode("utf-8", "replace")
                    yield LandedOrder(order, f"{path}#{number}")


def read_orders(source: LandingManifest | dict[str, Any] | str, conn_id: str | None = None) -> Iterator[Any]:
    """The landed orders alone (see :func:`read_landed`)."""
    return (landed.order for landed in read_landed(source, conn_id))
