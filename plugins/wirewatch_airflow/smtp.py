"""Alert delivery through Airflow's SMTP connection, for deployments that keep mail settings in Airflow.

The sender raises `DeliveryError` like wirewatch's own, so the alert ledger
tells a full mailbox (retry later) from a refused address (give up). What the
connection itself gets wrong is temporary: a server that cannot be reached, and
a TLS setting that does not match the server (SSL spoken to a plain server,
STARTTLS asked of one that does not offer it), are fixed by fixing the
connection, after which the ledger's next attempt delivers the alert.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from typing import TYPE_CHECKING

from airflow.providers.smtp.hooks.smtp import SmtpHook
from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowException, AirflowNotFoundException

if TYPE_CHECKING:
    from pipeline.alert import Sender


@contextmanager
def tls_mismatch_is_temporary() -> Iterator[None]:
    """A TLS setting the server does not speak: the connection is wrong, not the message, so retry once fixed."""
    from pipeline.alert import DeliveryError

    try:
        yield
    except (ssl.SSLError, smtplib.SMTPNotSupportedError) as exc:
        reason = (
            f"SMTP TLS mismatch ({exc}): the server does not speak what the connection asks; for a plain "
            "server set disable_ssl and disable_tls in its extra, for STARTTLS disable_ssl only"
        )
        raise DeliveryError(reason, temporary=True) from None


class AlertSmtpHook(SmtpHook):
    """SmtpHook sends HTML it builds itself; alerts are whole messages with their own Message-ID."""

    def send_message(self, message: EmailMessage) -> None:
        from pipeline.alert import smtp_delivery_errors

        # The hook's own failures (no connection, "Unable to connect") mean try again later, like refused sockets.
        with smtp_delivery_errors(AirflowException), tls_mismatch_is_temporary(), self:
            client = self._smtp_client
            if not isinstance(client, smtplib.SMTP):
                raise AirflowException("SMTP connection was not opened")
            client.send_message(message)


def smtp_sender(conn_id: str = SmtpHook.default_conn_name) -> Sender | None:
    """A sender over the Airflow SMTP connection, or None (wirewatch's own config decides) when there is none."""
    try:
        BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        return None
    return AlertSmtpHook(smtp_conn_id=conn_id).send_message
