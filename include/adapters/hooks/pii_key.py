"""The keys that encrypt buyer data at rest, from the ``amazon_pii_key`` connection.

Connection fields (any connection type, ``generic`` is fine): ``password`` holds one
or more Fernet keys separated by commas, newest first: the first encrypts, every
one decrypts. Rotating: put the new key first (``new,old``), let the runs go on,
run ``python -m include.ops.pii reencrypt``, then drop the old key.

    python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"
    airflow connections add amazon_pii_key --conn-type generic --conn-password '<key>'

Without the connection nothing that holds buyer data is written: the sync's tasks
fail at once (a permanent error) naming the connection to create.
"""

from __future__ import annotations

from airflow.sdk import BaseHook

from include.adapters.task_failures import PermanentError
from include.domain.buyer_data import BuyerDataCipher, InvalidKey

PII_KEY_CONN_ID = "amazon_pii_key"
CREATE_HINT = (
    f"create the Airflow connection {PII_KEY_CONN_ID!r} with one or more Fernet keys, comma-separated, in its "
    'password (new key: python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"; '
    "see README, Data protection)"
)


class MissingPiiKey(PermanentError):
    """No usable ``amazon_pii_key`` connection: buyer data must not be stored (no retry can fix that)."""


class PiiKeyHook(BaseHook):
    """Build the :class:`~include.domain.buyer_data.BuyerDataCipher` of a key connection."""

    conn_name_attr = "pii_key_conn_id"
    default_conn_name = PII_KEY_CONN_ID
    conn_type = "generic"
    hook_name = "Amazon buyer data keys"

    def __init__(self, pii_key_conn_id: str = default_conn_name) -> None:
        super().__init__()
        self.pii_key_conn_id = pii_key_conn_id

    @classmethod
    def get_ui_field_behaviour(cls) -> dict:
        """Only the password matters: the keys."""
        return {
            "hidden_fields": ["host", "schema", "login", "port", "extra"],
            "relabeling": {"password": "Fernet keys (comma-separated, newest first)"},
        }

    def get_cipher(self) -> BuyerDataCipher:
        """The cipher of the connection's keys; :class:`MissingPiiKey` when there is none or a key is unusable."""
        from airflow.sdk.exceptions import AirflowNotFoundException

        try:
            conn = self.get_connection(self.pii_key_conn_id)
        except AirflowNotFoundException:
            raise MissingPiiKey(
                f"no connection {self.pii_key_conn_id!r}: buyer data is not stored; {CREATE_HINT}"
            ) from None
        keys = [key for key in (conn.password or "").split(",") if key.strip()]
        if not keys:
            raise MissingPiiKey(f"connection {self.pii_key_conn_id!r} has no key in its password; {CREATE_HINT}")
        try:
            return BuyerDataCipher(keys)
        except InvalidKey as exc:
            raise MissingPiiKey(f"connection {self.pii_key_conn_id!r}: {exc}; {CREATE_HINT}") from None

    def get_conn(self) -> BuyerDataCipher:
        """Same as :meth:`get_cipher` (the BaseHook spelling)."""
        return self.get_cipher()


def buyer_cipher(conn_id: str = PII_KEY_CONN_ID) -> BuyerDataCipher:
    """The cipher the tasks use (see :class:`PiiKeyHook`)."""
    return PiiKeyHook(conn_id).get_cipher()
