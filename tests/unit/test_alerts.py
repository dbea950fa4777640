"""The wording of failure alerts (python_scripts/alerts.py) and which notifiers the settings turn on."""

from __future__ import annotations

import email
import json
import socketserver
import threading
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from python_scripts.alerts import (
    MAX_ERROR_CHARS,
    REDACTED,
    TaskFailure,
    failure_alert,
    known_secrets,
    redact,
    truncate,
    what_failed,
)
from python_scripts.derived import ALERT_SLACK_CONN_ID, derived_environment
from python_scripts.settings import PROJECT_ROOT, get_settings

WEBHOOK = "https://chat.example.com/hooks/token-of-the-webhook"
FAILURE = TaskFailure(
    dag_id="orders_batch",
    task_id="transform.orders_orders_source",
    run_id="manual__2025-02-06T00:00:00+00:00",
    logical_date=datetime(2025, 2, 6, tzinfo=UTC),
    try_number=2,
    error="CosmosDbtRunError: dbt invocation completed with errors: orders: None",
    log_url="http://airflow.example/dags/orders_batch/runs/r/tasks/transform.orders_orders_source?try_number=2",
)


def test_the_alert_names_the_dag_task_date_error_and_log():
    alert = failure_alert(FAILURE)
    for part in (
        "orders_batch",
        "transform.orders_orders_source",
        "2025-02-06T00:00:00+00:00",
        "try 2",
        "orders: None",
        f"<{FAILURE.log_url}|Task log>",
    ):
        assert part in alert.text
    assert alert.subject == "[Airflow] orders_batch / transform.orders_orders_source failed"
    assert f'href="{FAILURE.log_url}"' in alert.html_body
    assert "orders: None" in alert.html_body
    blocks = json.dumps(alert.blocks)
    assert "transform.orders_orders_source" in blocks
    assert "Task log" in blocks


@pytest.mark.parametrize(
    ("task_id", "expected"),
    [
        ("transform.orders_orders_source", "Data freshness breach: the dbt source freshness check of `orders_orders`"),
        ("transform.fct_orders_model_build", "dbt build of model `fct_orders` failed"),
        ("transform.dim_users_snapshot_build", "dbt build of snapshot `dim_users`"),
        ("transform.assert_mart_reconciles_test", "dbt test `assert_mart_reconciles` failed"),
        ("transform.source_freshness", "Data freshness breach: a source freshness check of the group"),
        ("transform.dbt_build", "dbt build of the group failed"),
        ("extract", "Extract from the source API"),
        ("load", "Load from the lake into bronze"),
        ("something_else", "Task `something_else` failed"),
    ],
)
def test_what_failed_is_read_from_the_task_id(task_id, expected):
    assert what_failed(task_id).startswith(expected)


def test_a_mapped_task_is_named_with_its_label_and_a_missing_date_with_the_run():
    mapped = TaskFailure(**{**FAILURE.__dict__, "task_id": "extract", "map_index": 3, "map_label": "Tokyo,JP"})
    assert "extract[Tokyo,JP]" in failure_alert(mapped).text
    unlabelled = TaskFailure(**{**FAILURE.__dict__, "task_id": "extract", "map_index": 3})
    assert "extract[3]" in failure_alert(unlabelled).text
    undated = TaskFailure(**{**FAILURE.__dict__, "logical_date": None})
    assert f"none (run {FAILURE.run_id})" in failure_alert(undated).text


def test_long_errors_keep_their_start_and_end():
    error = "START " + "x" * 10_000 + " END"
    cut = truncate(error)
    assert len(cut) == MAX_ERROR_CHARS
    assert cut.startswith("START ")
    assert cut.endswith(" END")
    assert f"[{len(error) - MAX_ERROR_CHARS} characters cut]" in cut
    assert truncate("short") == "short"
    alert = failure_alert(TaskFailure(**{**FAILURE.__dict__, "error": error}))
    assert all(len(block["text"]["text"]) <= 3000 for block in alert.blocks if block["type"] == "section")


def test_secrets_are_redacted_by_value_and_by_shape():
    # Fake credentials, made up for this test.
    error = (
        "GET https://api.example/query?symbol=IBM&apikey=s3cr3t-key-value failed; "
        "postgresql://loader:pa55word@db:5432/warehouse refused; "  # pragma: allowlist secret
        "token: tok-fake-42; the key my-known-secret-1 leaked"
    )
    redacted = redact(error, ["my-known-secret-1", "x"])
    for secret in ("s3cr3t-key-value", "pa55word", "tok-fake-42", "my-known-secret-1"):
        assert secret not in redacted
    assert "apikey=***" in redacted
    assert f"postgresql://loader:{REDACTED}@db:5432/warehouse" in redacted
    assert "symbol=IBM" in redacted  # short values and ordinary parameters are left alone


def test_the_alert_carries_no_secret_of_the_settings():
    settings = get_settings(
        {
            "OPENWEATHER_API_KEY": "weather-key-123",  # pragma: allowlist secret
            "ALPHAVANTAGE_API_KEY": "stocks-key-456",  # pragma: allowlist secret
            "POSTGRES_URL": "postgresql://admin:db-password-789@db:5432/",  # pragma: allowlist secret
            "ALERT_SLACK_WEBHOOK_URL": WEBHOOK,
        }
    )
    error = "weather-key-123 stocks-key-456 db-password-789 <" + WEBHOOK + "> token-of-the-webhook"
    alert = failure_alert(TaskFailure(**{**FAILURE.__dict__, "error": error}), known_secrets(settings))
    for secret in ("weather-key-123", "stocks-key-456", "db-password-789", "token-of-the-webhook"):
        for rendering in (alert.text, json.dumps(alert.blocks), alert.subject, alert.html_body):
            assert secret not in rendering


def test_markup_in_an_error_cannot_forge_a_link_or_markup():
    alert = failure_alert(TaskFailure(**{**FAILURE.__dict__, "error": "<https://evil.example|click> & <b>"}))
    assert "<https://evil.example|click>" not in alert.text
    assert "&lt;https://evil.example|click&gt; &amp;" in alert.text
    assert "<pre>&lt;https://evil.example|click&gt; &amp; &lt;b&gt;</pre>" in alert.html_body


def test_the_webhook_becomes_a_connection_only_when_set():
    assert f"AIRFLOW_CONN_{ALERT_SLACK_CONN_ID.upper()}" not in derived_environment(get_settings({}), {})
    env = derived_environment(get_settings({"ALERT_SLACK_WEBHOOK_URL": WEBHOOK}), {})
    conn = json.loads(env[f"AIRFLOW_CONN_{ALERT_SLACK_CONN_ID.upper()}"])
    assert conn == {"conn_type": "slackwebhook", "password": WEBHOOK}
    assert WEBHOOK not in repr(get_settings({"ALERT_SLACK_WEBHOOK_URL": WEBHOOK}))


def test_notifiers_follow_the_settings(monkeypatch):
    monkeypatch.syspath_prepend(str(PROJECT_ROOT / "dags"))
    from elt_dags.alerts import EmailFailureNotifier, SlackFailureNotifier, failure_notifiers

    monkeypatch.delenv("ALERT_SLACK_WEBHOOK_URL", raising=False)
    monkeypatch.delenv("ALERT_EMAIL_TO", raising=False)
    assert failure_notifiers() == []
    monkeypatch.setenv("ALERT_SLACK_WEBHOOK_URL", WEBHOOK)
    monkeypatch.setenv("ALERT_EMAIL_TO", "data@example.com, oncall@example.com")
    slack, email = failure_notifiers()
    assert isinstance(slack, SlackFailureNotifier)
    assert isinstance(email, EmailFailureNotifier)
    assert email.to == ["data@example.com", "oncall@example.com"]


class _SmtpReceiver(socketserver.ThreadingTCPServer):
    """Just enough of an SMTP server for smtplib without TLS or login: it keeps every message it is sent."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _SmtpSession)
        self.messages: list[bytes] = []


class _SmtpSession(socketserver.StreamRequestHandler):
    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self) -> None:
        self.reply("220 test")
        for line in self.rfile:
            command = line[:4].upper()
            if command == b"DATA":
                self.reply("354 go on")
                self.server.messages.append(b"".join(iter(self.rfile.readline, b".\r\n")))
            elif command == b"QUIT":
                self.reply("221 bye")
                return
            self.reply("250 ok")


@pytest.fixture
def smtp_receiver(monkeypatch):
    server = _SmtpReceiver()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    plain = {"disable_ssl": True, "disable_tls": True}
    conn = {"conn_type": "smtp", "host": "127.0.0.1", "port": server.server_address[1], "extra": plain}
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", json.dumps(conn))
    yield server
    server.shutdown()
    server.server_close()


def test_the_email_notifier_mails_the_alert_through_smtp_default(monkeypatch, smtp_receiver):
    monkeypatch.syspath_prepend(str(PROJECT_ROOT / "dags"))
    from elt_dags.alerts import EmailFailureNotifier

    ti = SimpleNamespace(
        dag_id=FAILURE.dag_id,
        task_id=FAILURE.task_id,
        run_id=FAILURE.run_id,
        try_number=2,
        log_url=FAILURE.log_url,
        map_index=-1,
        rendered_map_index=None,
    )
    context = {"ti": ti, "logical_date": FAILURE.logical_date, "exception": RuntimeError("orders: {{ None }}")}
    EmailFailureNotifier(["data@example.com"], "airflow@example.com").notify(context)
    (raw,) = smtp_receiver.messages
    message = email.message_from_bytes(raw)
    assert message["Subject"] == f"[Airflow] {FAILURE.dag_id} / {FAILURE.task_id} failed"
    assert message["To"] == "data@example.com"
    html = next(part for part in message.walk() if part.get_content_type() == "text/html")
    body = html.get_payload(decode=True).decode()
    assert "Data freshness breach" in body
    assert "RuntimeError: orders: {{ None }}" in body  # an error quoting Jinja is sent as it is, not rendered
    assert f'href="{FAILURE.log_url}"' in body
