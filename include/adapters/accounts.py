"""The seller accounts of this deployment: ``include/accounts.yaml`` (or ``$AMAZON_ACCOUNTS_FILE``).

Read when the DAG files are parsed (a small YAML file, no metadata-DB access): each
account gets its own pair of DAGs, SP-API connection, settings Variable, pool,
asset and high-water marks. A bad file raises :class:`AccountsError` naming the
problem, so the DAG files show an import error instead of silently having no DAGs.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from include.adapters.paths import INCLUDE_DIR
from include.channel_db.statements import DEFAULT_ACCOUNT as DEFAULT_NAME

#: The environment variable naming another accounts file.
ACCOUNTS_FILE_ENV = "AMAZON_ACCOUNTS_FILE"
DEFAULT_ACCOUNTS_FILE = INCLUDE_DIR / "accounts.yaml"
_SLUG = re.compile(r"^[a-z][a-z0-9_]{0,30}$")
_ID = re.compile(r"^[A-Za-z0-9_.-]{1,200}$")
_KEYS = ("name", "conn_id", "settings_variable")
#: Optional: the SQS queue URL of the account's ORDER_CHANGE notifications (the event path; README: Event-driven sync).
_OPTIONAL = ("order_change_queue",)


class AccountsError(ValueError):
    """The accounts file is missing, unreadable or invalid (the message names the file and the problem)."""


@dataclass(frozen=True)
class Account:
    """One Amazon seller account (one region): its connection, settings Variable and the Airflow names it gets."""

    name: str
    conn_id: str
    settings_variable: str
    #: The SQS queue its ORDER_CHANGE notifications arrive in; None: no event path, polling only.
    order_change_queue: str | None = None

    def named(self, base: str) -> str:
        """``base`` for the default account, ``base_<name>`` for the others (DAG ids, pools, asset names)."""
        return base if self.name == DEFAULT_NAME else f"{base}_{self.name}"

    def uri(self, base: str) -> str:
        """``base`` for the default account, ``base/<name>`` for the others (asset URIs)."""
        return base if self.name == DEFAULT_NAME else f"{base}/{self.name}"

    @property
    def sync_dag_id(self) -> str:
        return self.named("amazon_order_sync")

    @property
    def push_dag_id(self) -> str:
        return self.named("amazon_tracking_push")

    @property
    def events_dag_id(self) -> str:
        return self.named("amazon_order_events")

    @property
    def pool(self) -> str:
        """The pool serialising this account's SP-API quota users (quota is per seller and application)."""
        return self.named("amazon_sp_api")


#: The account existing deployments have: its DAG ids, pool and rows keep the names of a one-account deployment.
DEFAULT_ACCOUNT = Account(DEFAULT_NAME, "amazon_sp_api", "amazon_order_settings")


def accounts_file() -> Path:
    """The accounts file in use: ``$AMAZON_ACCOUNTS_FILE`` or ``include/accounts.yaml``."""
    return Path(os.environ.get(ACCOUNTS_FILE_ENV) or DEFAULT_ACCOUNTS_FILE)


def parse_accounts(text: str, source: str = "accounts file") -> list[Account]:
    """Validate the YAML text of an accounts file; raise :class:`AccountsError` naming every problem."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise AccountsError(f"{source}: not valid YAML ({exc})") from None
    entries = data.get("accounts") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries:
        raise AccountsError(f"{source}: expected a non-empty list under 'accounts:'")
    problems: list[str] = []
    accounts: list[Account] = []
    for position, entry in enumerate(entries, 1):
        where = f"account #{position}"
        if not isinstance(entry, dict):
            problems.append(f"{where}: expected a mapping with {', '.join(_KEYS)}")
            continue
        where = f"account #{position} ({entry.get('name', '?')})"
        missing = [key for key in _KEYS if not entry.get(key)]
        unknown = sorted(set(entry) - set(_KEYS) - set(_OPTIONAL))
        if missing:
            problems.append(f"{where}: missing {', '.join(missing)}")
        if unknown:
            problems.append(
                f"{where}: unknown key(s) {', '.join(map(str, unknown))}; allowed: {', '.join((*_KEYS, *_OPTIONAL))}"
            )
        if missing or unknown:
            continue
        name, conn_id, variable = (str(entry[key]) for key in _KEYS)
        if not _SLUG.match(name):
            problems.append(f"{where}: name must be a lowercase slug (a-z, 0-9, _; starting with a letter; ≤ 31)")
        for key, value in (("conn_id", conn_id), ("settings_variable", variable)):
            if not _ID.match(value):
                problems.append(f"{where}: {key} {value!r} is not a valid Airflow id")
        queue = entry.get("order_change_queue")
        if queue is not None:
            from include.domain.order_notifications import queue_arn

            try:
                queue_arn(str(queue))
            except ValueError as exc:
                problems.append(f"{where}: order_change_queue {exc}")
        accounts.append(Account(name, conn_id, variable, str(queue) if queue else None))
    for key in (*_KEYS, *_OPTIONAL):
        values = [getattr(a, key) for a in accounts if getattr(a, key) is not None]
        dupes = sorted({v for v in values if values.count(v) > 1})
        if dupes:
            problems.append(f"two accounts share {key} {', '.join(dupes)} (each account needs its own)")
    if problems:
        raise AccountsError(f"{source}: " + "; ".join(problems))
    return accounts


def load_accounts(path: Path | None = None) -> list[Account]:
    """The accounts of the file in use (see :func:`accounts_file`), validated."""
    path = path or accounts_file()
    try:
        text = path.read_text()
    except OSError as exc:
        raise AccountsError(
            f"accounts file {path}: cannot be read ({exc.strerror}; set ${ACCOUNTS_FILE_ENV})"
        ) from None
    return parse_accounts(text, f"accounts file {path}")


def account_named(name: str, path: Path | None = None) -> Account:
    """The account called ``name`` in the accounts file in use."""
    for account in load_accounts(path):
        if account.name == name:
            return account
    raise AccountsError(f"no account named {name!r} in {path or accounts_file()}")


def account_doc(account: Account) -> str:
    """The part of a DAG's doc_md naming its account and what it uses (the rest is the DAG file's docstring)."""
    return (
        f"\n\n**Account `{account.name}`** (`{accounts_file().name}`): SP-API connection `{account.conn_id}`, "
        f"settings Variable `{account.settings_variable}`, pool `{account.pool}`; DAGs `{account.sync_dag_id}` "
        f"and `{account.push_dag_id}`. Its orders, high-water marks and run reports are its own.\n"
    )
