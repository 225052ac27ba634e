"""The table of Magento REST endpoints in docs/commerce-sandbox.md, generated from the app's own routes.

``python -m sandbox endpoints --write`` rewrites the block between :data:`BEGIN`
and :data:`END`; ``--check`` (and ``tests/test_commerce_compat.py``) fails when
the page and the routes disagree, so the list cannot drift.
"""

from __future__ import annotations

from pathlib import Path

DOC_PATH = Path(__file__).resolve().parents[2] / "docs" / "commerce-sandbox.md"
BEGIN = "<!-- BEGIN endpoints: generated from the app's routes by `python -m sandbox endpoints --write` -->"
END = "<!-- END endpoints -->"


def endpoint_table() -> str:
    """A Markdown table of every Magento route the sandbox serves: method, path, ACL resource; sorted by path."""
    from sandbox.commerce.app import create_app, magento_routes

    routes = sorted(magento_routes(create_app("sqlite://")), key=lambda r: (r[1], r[0]))
    rows = [f"| `{method}` | `/rest[/<store>]{path}` | `{resource}` |" for method, path, resource in routes]
    return "\n".join(["| method | path | ACL resource |", "|---|---|---|", *rows])


def with_table(text: str, table: str) -> str:
    """``text`` with the block between the markers replaced by ``table``."""
    head, found, rest = text.partition(BEGIN)
    _, found_end, tail = rest.partition(END)
    if not (found and found_end):
        raise ValueError(f"{DOC_PATH.name} lacks the markers {BEGIN!r} … {END!r}")
    return f"{head}{BEGIN}\n{table}\n{END}{tail}"


def sync_doc(write: bool) -> bool:
    """Whether the page's table matched the routes; with ``write``, the page is rewritten when it did not."""
    text = DOC_PATH.read_text()
    wanted = with_table(text, endpoint_table())
    if wanted == text:
        return True
    if write:
        DOC_PATH.write_text(wanted)
    return False
