"""Errors raised by the client, one class per kind of HTTP answer.

The service answers errors with ``{"error": {"code", "message", "field"}}`` (and, for an invalid
experiment spec, every bad field under ``fields``). :func:`error_for` turns such an answer into the
matching :class:`AmagoError` subclass.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Mapping, Optional, Type

__all__ = [
    "AmagoError",
    "InvalidInput",
    "Unauthorized",
    "NotFound",
    "Conflict",
    "Gone",
    "TooLarge",
    "ServerError",
    "TransportError",
    "error_for",
    "UnexpectedStatus",
]


class AmagoError(Exception):
    """An error answer of the service (or a failure to reach it).

    Attributes:
        status: the HTTP status (0 when no answer arrived).
        code: the service's stable snake_case error code, e.g. ``invalid_field``.
        message: what is wrong and what was expected.
        field: the request field, parameter or header at fault, when there is one.
        fields: for an invalid spec, every invalid field as ``{"field", "expected"}``.
        body: the decoded JSON body of the answer, or None.
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: Optional[str] = None,
        fields: Optional[List[Dict[str, str]]] = None,
        body: Any = None,
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.fields: List[Dict[str, str]] = list(fields or [])
        self.body = body
        where = f" [{field}]" if field else ""
        super().__init__(f"{status} {code}{where}: {message}")

    @property
    def field_names(self) -> List[str]:
        """Every field the answer names: ``field`` and those under ``fields``, without repeats."""
        names: List[str] = [self.field] if self.field else []
        for entry in self.fields:
            name = entry.get("field")
            if name and name not in names:
                names.append(name)
        return names


class InvalidInput(AmagoError):
    """400 (malformed request) or 422 (a field is missing, of the wrong type or shape, or invalid)."""


class Unauthorized(AmagoError):
    """401: the server has a token and the request lacks it or carries another."""


class NotFound(AmagoError):
    """404: no such experiment, checkpoint, session or path."""


class Conflict(AmagoError):
    """409: the request does not fit the current state (e.g. collecting on a stopped experiment)."""


class Gone(AmagoError):
    """410: the session ended, expired or was dropped by a restart; open a new one."""


class TooLarge(AmagoError):
    """413: the body exceeds the server's limit."""


class ServerError(AmagoError):
    """5xx: the server failed or is not ready."""


class TransportError(AmagoError):
    """No HTTP answer: the connection failed or timed out (status 0)."""


_BY_STATUS: Dict[int, Type[AmagoError]] = {
    400: InvalidInput,
    401: Unauthorized,
    403: Unauthorized,
    404: NotFound,
    409: Conflict,
    410: Gone,
    413: TooLarge,
    422: InvalidInput,
}


def error_for(status: int, raw: bytes) -> AmagoError:
    """The error for an answer with ``status`` and body ``raw`` (JSON error body or anything else)."""
    body: Any = None
    try:
        body = json.loads(raw.decode("utf-8")) if raw else None
    except (UnicodeDecodeError, ValueError):
        body = None
    error: Mapping[str, Any] = {}
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        error = body["error"]
    code = str(error.get("code") or f"http_{status}")
    message = str(error.get("message") or raw[:500].decode("utf-8", "replace") or "no message")
    field = error.get("field")
    fields: Any = body.get("fields") if isinstance(body, dict) else None
    if not isinstance(fields, list):
        fields = None
    cls = _BY_STATUS.get(status, ServerError if status >= 500 else AmagoError)
    return cls(status, code, message, field if isinstance(field, str) else None, fields, body)


class UnexpectedStatus(RuntimeError):
    """:meth:`Client.wait` saw the experiment end in a status it was not waiting for.

    Attributes:
        experiment: the experiment as last read (its ``status``, ``error`` and history).
    """

    def __init__(self, experiment: Mapping[str, Any], wanted: List[str]) -> None:
        self.experiment: Dict[str, Any] = dict(experiment)
        status = self.experiment.get("status")
        reason = self.experiment.get("error")
        detail = f" ({reason})" if reason else ""
        super().__init__(f"experiment {self.experiment.get('id')} is {status}{detail}; waited for {', '.join(wanted)}")
