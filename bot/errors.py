"""Errors of the assistant core, in one module that imports nothing of bot/: the core raises them,
the front ends (Telegram, terminal, CLI) turn them into a reply."""

from __future__ import annotations


class UsageError(ValueError):
    """Input a person must correct; the message (Chinese for owners) says how."""


class ExpiredError(UsageError):
    """A button refers to a question the log no longer has."""


class RefreshBusyError(UsageError):
    """Another refresh is running; the serving corpus is untouched."""
