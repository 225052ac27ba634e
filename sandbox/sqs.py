"""The local Amazon SQS: moto's server mode (a real SQS API over HTTP) inside the sandbox process.

``python -m sandbox serve --sqs-port N`` starts it; the ORDER_CHANGE sender of the
SP-API sandbox sends to it, and Airflow's ``aws_default`` connection points at it
(``endpoint_url``). ``PUT /_sandbox/sqs {"up": false}`` stops the server (queues
and messages are kept in memory) and ``{"up": true}`` starts it again on the same
port, to rehearse a queue outage.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

#: The account id and region moto answers with (a queue URL / ARN the connection and accounts.yaml name).
ACCOUNT_ID = "123456789012"
REGION = "us-east-1"


@dataclass
class LocalSqs:
    """A moto server on ``host:port`` that can be stopped and started again without losing its queues."""

    host: str
    port: int
    _server: object | None = field(default=None, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def up(self) -> bool:
        return self._server is not None

    def start(self) -> None:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log per request
        with self._lock:
            if self._server is None:
                self._server = ThreadedMotoServer(ip_address=self.host, port=self.port, verbose=False)
                self._server.start()

    def stop(self) -> None:
        with self._lock:
            if self._server is not None:
                self._server.stop()
                self._server = None
