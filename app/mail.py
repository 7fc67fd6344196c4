"""E-mail: the outbox written with each event, and the background thread of the server that sends it.

A request only adds rows to `outbox` (in its own transaction), so a mail server that is down or slow never
blocks or fails it. The sender thread (started by `serve`, not by create_app: tests and other commands start
none) sends what is due, retries with growing waits, and after a restart or a kill -9 sends whatever was
left pending at once. A mail may go out twice if the process dies between handing it over and noting it
sent; it is never lost. No Flask here.
"""

import logging
import smtplib
import ssl
import threading
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import sqlite_utils

from . import audit, clock, notifications
from . import db as database
from .db import all_rows, one, transaction

log = logging.getLogger("app.mail")

SMTP_TIMEOUT = 20
MAX_WAIT = timedelta(hours=1)  # the longest pause between two attempts at one mail
SWEEP_EVERY = timedelta(hours=1)  # expiring share links, year-old notifications
STATUS_LABELS = {"pending": "待发送", "sent": "已发送", "failed": "发送失败", "skipped": "未发送"}
PAGE_SIZE = 50
FOOTER = "\n——\n此邮件由绩效自评编制系统自动发送，请勿直接回复。不想再收到通知邮件，可在网站“通知”页关闭邮件提醒。\n"


@dataclass(frozen=True)
class Settings:
    """The FLASK_MAIL_* settings, SITE_URL and the retry schedule."""

    server: str
    port: int = 25
    sender: str = ""
    username: str = ""
    password: str = ""
    starttls: bool = False
    site_url: str = ""
    retry_seconds: float = 60.0
    max_attempts: int = 20


def _flag(value) -> bool:
    """A true/false setting that may arrive as a bool (JSON from the environment) or as text."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def configured(config) -> bool:
    """Whether a mail server is set (without one, notifications stay in the site and no mail is queued)."""
    return bool(str(config.get("MAIL_SERVER") or "").strip())


def settings_from(config) -> Settings | None:
    """The mail settings from a config mapping, or None when MAIL_SERVER is not set."""
    if not configured(config):
        return None
    return Settings(
        server=str(config["MAIL_SERVER"]).strip(),
        port=int(config.get("MAIL_PORT") or 25),
        sender=str(config.get("MAIL_FROM") or ""),
        username=str(config.get("MAIL_USERNAME") or ""),
        password=str(config.get("MAIL_PASSWORD") or ""),  # str(): digits arrive from the environment as a number
        starttls=_flag(config.get("MAIL_STARTTLS")),
        site_url=str(config.get("SITE_URL") or "").rstrip("/"),
        retry_seconds=float(config.get("MAIL_RETRY_SECONDS") or 60),
        max_attempts=int(config.get("MAIL_MAX_ATTEMPTS") or 20),
    )


def compose(row: dict, settings: Settings) -> EmailMessage:
    """The message of an outbox row: plain text, the full link built from SITE_URL."""
    message = EmailMessage()
    message["Subject"] = row["subject"]
    message["From"] = settings.sender
    message["To"] = row["recipient"]
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=settings.sender.rpartition("@")[2] or None)
    link = settings.site_url + row["link"] if settings.site_url else f"{row['link']}（管理员尚未设置网站地址 SITE_URL）"
    message.set_content(f"{row['body']}\n查看：{link}\n{FOOTER}")
    return message


def _send(settings: Settings, message: EmailMessage) -> None:
    """Hand one message to the mail server (TLS on port 465; StartTLS when asked for)."""
    context = ssl.create_default_context()
    if settings.port == 465:
        smtp = smtplib.SMTP_SSL(settings.server, settings.port, timeout=SMTP_TIMEOUT, context=context)
    else:
        smtp = smtplib.SMTP(settings.server, settings.port, timeout=SMTP_TIMEOUT)
    with smtp:
        if settings.starttls and settings.port != 465:
            smtp.starttls(context=context)
        if settings.username:
            smtp.login(settings.username, settings.password)
        smtp.send_message(message)


def _permanent(error: Exception) -> bool:
    """Whether the server refused this very mail for good (a 5xx for the recipient): retrying cannot help."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    return False


def _wait(settings: Settings, attempts: int) -> timedelta:
    """How long to wait after the n-th failed attempt: doubling from MAIL_RETRY_SECONDS, at most an hour."""
    return min(timedelta(seconds=settings.retry_seconds * 2 ** min(attempts - 1, 20)), MAX_WAIT)


def send_due(db: sqlite_utils.Database, settings: Settings, everything: bool = False) -> dict:
    """Send the pending mail that is due (all of it when `everything`, as at start); counts by outcome."""
    # At start every pending mail counts as due: "until" is then far in the future.
    until = "9999" if everything else clock.now()
    rows = all_rows(db, "SELECT * FROM outbox WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY id LIMIT 200",
                    (until,))
    done = {"sent": 0, "retry": 0, "failed": 0}
    for row in rows:
        attempts = row["attempts"] + 1
        # Claimed before sending: should this process die mid-send, the row is pending and tried again.
        with transaction(db):
            db.execute("UPDATE outbox SET attempts = ?, next_attempt_at = ? WHERE id = ? AND status = 'pending'",
                       (attempts, _later(_wait(settings, attempts)), row["id"]))
        try:
            _send(settings, compose(row, settings))
        except (OSError, smtplib.SMTPException, ValueError) as error:
            final = _permanent(error) or attempts >= settings.max_attempts
            text = f"{type(error).__name__}: {error}"[:500]
            with transaction(db):
                db.execute("UPDATE outbox SET status = ?, last_error = ? WHERE id = ? AND status = 'pending'",
                           ("failed" if final else "pending", text, row["id"]))
            done["failed" if final else "retry"] += 1
            log.warning("mail %s to %s not sent (attempt %d): %s", row["id"], row["recipient"], attempts, text)
            if not final and not isinstance(error, smtplib.SMTPRecipientsRefused):
                break  # the server is down or refusing: the rest waits for the next round, not a timeout each
            continue
        with transaction(db):
            db.execute("UPDATE outbox SET status = 'sent', sent_at = ?, last_error = NULL WHERE id = ?",
                       (clock.now(), row["id"]))
        done["sent"] += 1
    return done


def _later(wait: timedelta) -> str:
    """The time `wait` from now, as stored."""
    return (clock.parse(clock.now()) + wait).isoformat(timespec="microseconds")


def list_outbox(db: sqlite_utils.Database, status: str = "", page: int = 1) -> tuple[list[dict], bool, dict]:
    """A page of the outbox, newest first (optionally of one status), whether there is more, and counts by status."""
    status = status if status in STATUS_LABELS else ""
    rows = all_rows(
        db,
        "SELECT outbox.*, users.username, users.display_name FROM outbox LEFT JOIN users ON users.id = outbox.user_id"
        " WHERE ? = '' OR outbox.status = ? ORDER BY outbox.id DESC LIMIT ? OFFSET ?",
        (status, status, PAGE_SIZE + 1, (max(page, 1) - 1) * PAGE_SIZE),
    )
    for row in rows:
        row["status_label"] = STATUS_LABELS[row["status"]]
    counts = dict.fromkeys(STATUS_LABELS, 0)
    counts.update(dict(db.execute("SELECT status, count(*) FROM outbox GROUP BY status").fetchall()))
    return rows[:PAGE_SIZE], len(rows) > PAGE_SIZE, counts


def resend(db: sqlite_utils.Database, outbox_id: int, actor_id: int | None = None) -> str | None:
    """Queue a mail again, to the recipient's current address; None if done, else why not (in Chinese)."""
    with transaction(db):
        row = one(db, "SELECT outbox.*, users.email FROM outbox LEFT JOIN users ON users.id = outbox.user_id"
                      " WHERE outbox.id = ?", (outbox_id,))
        if row is None:
            return "该邮件不存在。"
        if row["status"] == "pending":
            return "该邮件正在等待发送。"
        address = row["email"] or row["recipient"]
        if not address:
            return "收件人仍没有电子邮件地址，请先在其账号页填写。"
        db.execute("UPDATE outbox SET status = 'pending', recipient = ?, attempts = 0, next_attempt_at = ?,"
                   " last_error = NULL WHERE id = ?", (address, clock.now(), outbox_id))
        audit.record(db, "mail.resend", actor_id=actor_id, outbox_id=outbox_id, recipient=address)
    return None


class Background(threading.Thread):
    """The server's helper thread: sends the outbox, warns of expiring share links, clears old notifications."""

    def __init__(self, database_path: str, config):
        super().__init__(name="jixiao-mail", daemon=True)
        self.path, self.config = database_path, config
        self.poll = float(config.get("MAIL_POLL_SECONDS") or 5)
        self.stopping = threading.Event()

    def run(self) -> None:
        """Until stopped: first everything pending, then what falls due, with a sweep every hour."""
        db = database.connect(self.path)
        settings = settings_from(self.config)
        first, last_sweep = True, None
        try:
            while not self.stopping.is_set():
                try:
                    if last_sweep is None or clock.parse(clock.now()) - last_sweep >= SWEEP_EVERY:
                        notifications.warn_expiring_shares(db, mail=settings is not None)
                        notifications.purge_old(db)
                        last_sweep = clock.parse(clock.now())
                    if settings is not None:
                        send_due(db, settings, everything=first)
                    first = False
                except Exception:  # the thread must outlive any one bad round (a locked database, a bug)
                    log.exception("background round failed")
                self.stopping.wait(self.poll)
        finally:
            db.conn.close()

    def stop(self) -> None:
        """Ask the thread to end after its current round."""
        self.stopping.set()


def start_background(database_path: str, config) -> Background:
    """Start the server's helper thread."""
    worker = Background(database_path, config)
    worker.start()
    return worker
