"""Alert delivery through Airflow's SMTP connection, for deployments that keep mail settings in Airflow.

The sender raises `DeliveryError` like wirewatch's own, so the alert ledger
tells a full mailbox (retry later) from a refused address (give up).
"""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

from airflow.providers.smtp.hooks.smtp import SmtpHook
from airflow.sdk import BaseHook
from airflow.sdk.exceptions import AirflowException, AirflowNotFoundException

from pipeline.alert import Sender, smtp_delivery_errors


class AlertSmtpHook(SmtpHook):
    """SmtpHook sends HTML it builds itself; alerts are whole messages with their own Message-ID."""

    def send_message(self, message: EmailMessage) -> None:
        with smtp_delivery_errors(AirflowException), self:
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
