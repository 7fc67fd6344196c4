"""The app's in-process rate limits, and the client address they are kept by."""

from datetime import timedelta

from flask import Flask, current_app, request

from ..throttle import Throttle
from ..users import LOCKOUT, MAX_FAILED_LOGINS


def install(app: Flask) -> None:
    """Give the app its own limiters (a fresh app, as in each test, starts with a clean slate)."""
    app.extensions["jixiao.throttles"] = {
        # Failed logins from one address, whatever the account: 429 for the rest of the 15 minutes.
        "login_address": Throttle(int(app.config["LOGIN_FAILURES_PER_ADDRESS"]), LOCKOUT.total_seconds()),
        # Usernames that do not exist lock like real accounts (users.authenticate): 5 failures, 15 minutes.
        "login_unknown": Throttle(MAX_FAILED_LOGINS, timedelta(days=1).total_seconds(),
                                  lockout=LOCKOUT.total_seconds()),
        # Unknown, expired or revoked share links opened from one address in a minute.
        "share_address": Throttle(int(app.config["SHARE_MISSES_PER_ADDRESS"]), 60),
    }


def throttles() -> dict[str, Throttle]:
    """This app's limiters."""
    return current_app.extensions["jixiao.throttles"]


def client_address() -> str:
    """The client's address (given by the trusted proxy when PROXY_FIX is set)."""
    return request.remote_addr or "-"


def retry_after(wait: float) -> dict[str, str]:
    """The Retry-After header of a 429, in whole seconds."""
    return {"Retry-After": str(max(1, int(wait + 0.999)))}
