"""Magento's ``fields`` response filter (``Magento\\Framework\\Webapi\\Rest\\Response\\FieldsFilter``).

Any REST call whose answer is an object or a list may carry
``?fields=items[entity_id,increment_id,items[sku]],total_count``: the answer
keeps only the named keys, recursively; a selection applied to a list applies
to each element. Magento's quirks are kept: a filter with any character other
than letters, digits, ``_``, ``[``, ``]`` and ``,`` (or with an unclosed ``[``)
turns the whole answer into ``[]``; an empty object or list selected with a
nested selection becomes ``null`` (PHP's empty array is a "list"); keys keep
the answer's order; a field named twice keeps its last selection.
"""

from __future__ import annotations

import re
from typing import Any

FILTER_PARAMETER = "fields"
_FORBIDDEN = re.compile(r"[^\w\[\],]", re.ASCII)

Selection = dict[str, Any]  # field -> 1 (keep as is) or a nested Selection


def parse(text: str) -> Selection | None:
    """``FieldsFilter::parse``: the selection tree, or None for a malformed filter."""
    if not text or _FORBIDDEN.search(text):
        return None
    start: int | None = None
    current: Selection = {}
    stack: list[Selection] = []
    parents: list[str | None] = []
    element: str | None = None
    for position, char in enumerate(text):
        if char in "[],":
            if start is not None:
                element = text[start:position]
                current[element] = 1
            start = None
        if char == "[":
            parents.append(element)
            stack.append(current)
            current = {}
        elif char == "]":
            inner = current
            current = stack.pop() if stack else {}  # PHP: array_pop on an empty stack gives null, then an array
            key = parents.pop() if parents else None
            current["" if key is None else key] = inner
        elif char != "," and start is None:
            start = position
    if stack:
        return None
    if start is not None:
        current[text[start:]] = 1
    return current


def apply(response: Any, selection: Selection) -> Any:
    """``FieldsFilter::applyFilter``: a list is filtered element by element, an object key by key."""
    if not response:  # PHP's empty array: treated as a list, and nothing is assigned, so null
        return None
    if isinstance(response, list):
        return [_intersect(item, selection) for item in response]
    return _intersect(response, selection)


def _intersect(value: Any, selection: Selection) -> Any:
    if not isinstance(value, dict):  # a scalar inside a selected list: kept (Magento fails with a PHP error)
        return value
    out = {}
    for key, item in value.items():
        if key not in selection:
            continue
        nested = selection[key]
        out[key] = apply(item, nested) if isinstance(item, dict | list) and isinstance(nested, dict) else item
    return out


def filter_response(response: Any, query: list[tuple[str, str]]) -> Any:
    """The answer as Magento sends it for these query parameters: filtered when ``fields`` is given (PHP-truthy)."""
    values = [value for key, value in query if key == FILTER_PARAMETER]
    if not values or values[-1] in ("", "0") or not isinstance(response, dict | list):
        return response
    selection = parse(values[-1])
    return [] if selection is None else apply(response, selection)
