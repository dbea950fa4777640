"""The text of a failure alert: what failed, where, when, why, and where its log is.

Pure functions of the facts of one failed task (no Airflow here: ``dags/elt_dags/alerts.py`` reads them from the
task's context), so the same wording reaches Slack-compatible webhooks (Slack, Mattermost, Rocket.Chat) and
e-mail. Errors can quote request URLs, connection strings or configuration, so every alert is redacted: the
secrets of the settings by value, and anything shaped like a key, token or password by pattern.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from python_scripts.settings import Settings, secret_values

REDACTED = "***"
# Slack renders at most 3,000 characters in a section block; an alert should be read at a glance anyway.
MAX_ERROR_CHARS = 1500
# Secrets shorter than this are not replaced by value: "1" or "a" would shred the message.
MIN_SECRET_CHARS = 6
# key=value pairs whose value is a credential (query strings, DSNs, configuration dumps) ...
_CREDENTIAL_PAIR = re.compile(
    r"(?i)\b(api[_-]?key|apikey|appid|access[_-]?key|secret|token|password|passwd|pwd)(\s*[=:]\s*)([^\s&,;'\"]+)"
)
# ... and the password in a URL's user info (after the user name's colon, up to the @).
_URL_PASSWORD = re.compile(r"(://[^/\s:@]+:)([^@\s/]+)(@)")

# What a task id says about the step that failed: (suffix, what failed), first match wins. Cosmos names its
# tasks after the dbt node: <source>_source runs `dbt source freshness`, <model>_model_build builds and tests;
# a group built in one task (DBT_TASK_GRANULARITY=group) has source_freshness and dbt_build.
_STEPS = (
    ("source_freshness", "Data freshness breach: a source freshness check of the group failed (stale or missing data)"),
    ("dbt_build", "dbt build of the group failed: a model, snapshot or test (see the log for which)"),
    ("_source", "Data freshness breach: the dbt source freshness check of `{node}` failed (stale or missing data)"),
    ("_model_build", "dbt build of model `{node}` failed: the model or one of its tests"),
    ("_snapshot_build", "dbt build of snapshot `{node}` failed: the snapshot or one of its tests"),
    ("_snapshot", "dbt snapshot `{node}` failed"),
    ("_seed_build", "dbt build of seed `{node}` failed"),
    ("_test", "dbt test `{node}` failed"),
    ("_run", "dbt run of model `{node}` failed"),
    ("extract", "Extract from the source API into the lake failed"),
    ("load", "Load from the lake into bronze failed"),
    ("publish_bronze", "Publishing the bronze Asset events failed"),
)


@dataclass(frozen=True)
class TaskFailure:
    """The facts of one failed task instance."""

    dag_id: str
    task_id: str
    run_id: str
    logical_date: datetime | None
    try_number: int
    error: str
    log_url: str
    map_index: int = -1
    map_label: str | None = None


@dataclass(frozen=True)
class Alert:
    """One failure, worded for a chat webhook (``text``, with ``blocks`` for Slack) and for e-mail."""

    text: str
    blocks: list[dict]
    subject: str
    html_body: str


def known_secrets(settings: Settings) -> tuple[str, ...]:
    """Every secret value the settings hold (every source's keys included, see ``settings.secret_values``), and
    the webhook URL's path and the path's last segment (the token of Slack, Mattermost and Rocket.Chat webhooks)."""
    values = secret_values(settings)
    if settings.alert_slack_webhook_url:
        webhook = settings.alert_slack_webhook_url.get_secret_value()
        path = webhook.split("://", 1)[-1].partition("/")[2]
        values += [webhook, path, path.rstrip("/").rsplit("/", 1)[-1]]
    return tuple(value for value in values if value)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with each secret value, credential-looking ``key=value`` and URL password replaced by ***."""
    for secret in sorted({s for s in secrets if len(s) >= MIN_SECRET_CHARS}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    text = _CREDENTIAL_PAIR.sub(lambda m: f"{m[1]}{m[2]}{REDACTED}", text)
    return _URL_PASSWORD.sub(rf"\g<1>{REDACTED}\g<3>", text)


def truncate(text: str, limit: int = MAX_ERROR_CHARS) -> str:
    """At most ``limit`` characters: the start (what went wrong) and the end (where), with the cut marked."""
    if len(text) <= limit:
        return text
    marker = f"\n… [{len(text) - limit} characters cut] …\n"
    head = (limit - len(marker)) * 2 // 3
    tail = limit - len(marker) - head
    return text[:head] + marker + text[len(text) - tail :]


def what_failed(task_id: str) -> str:
    """One line naming the failed step, from the task id (``transform.orders_orders_source`` → freshness)."""
    name = task_id.rsplit(".", 1)[-1]
    for suffix, line in _STEPS:
        if name.endswith(suffix):
            return line.format(node=name.removesuffix(suffix) or name)
    return f"Task `{name}` failed"


def _task_label(failure: TaskFailure) -> str:
    if failure.map_index < 0:
        return failure.task_id
    return f"{failure.task_id}[{failure.map_label or failure.map_index}]"


def _when(failure: TaskFailure) -> str:
    return failure.logical_date.isoformat() if failure.logical_date else f"none (run {failure.run_id})"


def _mrkdwn(text: str) -> str:
    """Slack's three control characters, escaped (https://api.slack.com/reference/surfaces/formatting)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def failure_alert(failure: TaskFailure, secrets: Iterable[str] = ()) -> Alert:
    """The alert of one failed task, redacted of ``secrets`` and of credential-looking text."""
    secrets = tuple(secrets)
    error = truncate(redact(failure.error.strip() or "(no error message)", secrets))
    task, when, step = _task_label(failure), _when(failure), what_failed(failure.task_id)
    headline = f"{failure.dag_id} / {task} failed"
    facts = f"DAG `{failure.dag_id}` · task `{task}` · logical date {when} · try {failure.try_number}"
    text = "\n".join(
        (
            f":red_circle: *{_mrkdwn(headline)}*",
            _mrkdwn(step),
            _mrkdwn(facts),
            f"```{_mrkdwn(error)}```",
            f"<{failure.log_url}|Task log>",
        )
    )
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": headline[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{_mrkdwn(step)}*\n{_mrkdwn(facts)}"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": f"```{_mrkdwn(error)}```"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": f"<{failure.log_url}|Task log>"}},
    ]
    body = (
        f"<p><b>{html.escape(step)}</b></p>"
        f"<p>DAG <code>{html.escape(failure.dag_id)}</code><br>task <code>{html.escape(task)}</code><br>"
        f"logical date {html.escape(when)}<br>try {failure.try_number}</p>"
        f"<pre>{html.escape(error)}</pre>"
        f'<p><a href="{html.escape(failure.log_url, quote=True)}">Task log</a></p>'
    )
    return Alert(text=text, blocks=blocks, subject=f"[Airflow] {headline}", html_body=body)
