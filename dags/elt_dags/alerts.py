"""Failure alerts of every task, worded by ``python_scripts.alerts`` and sent by Airflow's provider notifiers.

``failure_notifiers()`` goes into the DAGs' ``default_args["on_failure_callback"]``, so it runs once per task
instance that fails for good (after its retries), in the worker, with the task's context. It is empty unless
``ALERT_SLACK_WEBHOOK_URL`` (any Slack-compatible incoming webhook: Slack, Mattermost, Rocket.Chat; the URL
reaches Airflow as the connection ``alert_slack_webhook``, see ``python_scripts.settings``) or ``ALERT_EMAIL_TO``
(through the ``smtp_default`` connection) is set.

The providers' ``SlackWebhookNotifier`` and ``SmtpNotifier`` are built when a task fails, not when a DAG file is
parsed: the Slack SDK alone adds a third of a second to every parse. They get plain text, never a template, so an
error quoting Jinja (dbt's often do) reaches the channel as it is.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseNotifier

from python_scripts.derived import ALERT_SLACK_CONN_ID
from python_scripts.settings import get_settings


def alert_from_context(context: Any):
    """The alert of the failed task instance in ``context``, redacted of the secrets the worker knows."""
    from python_scripts.alerts import TaskFailure, failure_alert, known_secrets

    ti, error = context["ti"], context.get("exception")
    failure = TaskFailure(
        dag_id=ti.dag_id,
        task_id=ti.task_id,
        run_id=ti.run_id,
        logical_date=context.get("logical_date"),
        try_number=ti.try_number,
        error=f"{type(error).__name__}: {error}" if isinstance(error, BaseException) else str(error or ""),
        log_url=ti.log_url,
        map_index=-1 if ti.map_index is None else ti.map_index,
        map_label=getattr(ti, "rendered_map_index", None),
    )
    return failure_alert(failure, known_secrets(get_settings()))


class SlackFailureNotifier(BaseNotifier):
    """Posts the alert to the incoming webhook of the ``alert_slack_webhook`` connection."""

    def notify(self, context: Any) -> None:
        from airflow.providers.slack.notifications.slack_webhook import SlackWebhookNotifier

        alert = alert_from_context(context)
        sender = SlackWebhookNotifier(
            slack_webhook_conn_id=ALERT_SLACK_CONN_ID, text=alert.text, blocks=alert.blocks, unfurl_links=False
        )
        sender.notify(context)


class EmailFailureNotifier(BaseNotifier):
    """Mails the alert through the ``smtp_default`` connection (sender: ``from_email``, else the connection's)."""

    def __init__(self, to: list[str], from_email: str | None = None):
        super().__init__()
        self.to, self.from_email = to, from_email

    def notify(self, context: Any) -> None:
        from airflow.providers.smtp.notifications.smtp import SmtpNotifier

        alert = alert_from_context(context)
        sender = SmtpNotifier(
            to=self.to, from_email=self.from_email, subject=alert.subject, html_content=alert.html_body
        )
        sender.notify(context)


def failure_notifiers() -> list[BaseNotifier]:
    """The notifiers the settings ask for; an empty list when no alert channel is configured."""
    settings = get_settings()
    notifiers: list[BaseNotifier] = []
    if settings.alert_slack_webhook_url:
        notifiers.append(SlackFailureNotifier())
    if settings.alert_email_to:
        notifiers.append(EmailFailureNotifier(list(settings.alert_email_to), settings.alert_email_from))
    return notifiers
