"""A real SMTP server (aiosmtpd) on a loopback port for the mail tests; it keeps what it receives."""

import email
import email.policy
import threading
import time

from aiosmtpd.controller import Controller

from tests.livesrv import free_port


class Inbox:
    """The aiosmtpd handler: every message received, parsed."""

    def __init__(self):
        self.messages = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        """Keep the message; answer 250."""
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append((list(envelope.rcpt_tos), message))
        return "250 OK"

    def to(self, address: str) -> list:
        """The messages delivered to an address, in order."""
        with self.lock:
            return [m for rcpts, m in self.messages if address in rcpts]

    def wait_for(self, count: int, timeout: float = 20.0) -> bool:
        """Wait until at least `count` messages arrived."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.messages) >= count:
                    return True
            time.sleep(0.05)
        return False


class SMTPServer:
    """aiosmtpd on 127.0.0.1 at a fixed port, which can be stopped and started again."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.inbox = Inbox()
        self.controller = None

    def start(self) -> None:
        """Listen (again)."""
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        """Stop listening: connections are refused until start()."""
        if self.controller is not None:
            self.controller.stop()
            self.controller = None
