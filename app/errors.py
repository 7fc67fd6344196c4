"""The domain's refusals, each mapped to one HTTP status by the blueprints (views/__init__.py)."""


class NotFound(LookupError):
    """The report or section does not exist (or was deleted): 404."""


class InvalidInput(ValueError):
    """Input that cannot be accepted; the message says what to do, in Chinese: 422."""

    user_message = True  # a sandboxed task that raises it hands the message back (worker_main.py)


class NotAllowed(Exception):
    """The user may not do this; the message says why, in Chinese: 403."""
