"""The one exception root of Cocon.

::

    CoconError
     ├── ConfigError          settings are invalid (stops the process at start)
     └── ClientError          meant for the client: carries ``code`` and a French message
          ├── BadRequest      malformed or invalid command
          ├── NotAllowed      the user may not do this
          ├── NotFound        no such room, user or conversation (or not visible)
          ├── Conflict        state forbids it (pseudo taken, already member...)
          └── RateLimited     too fast; carries ``retry_after``

Only ClientError reaches users; anything else is logged and answered with ``internal``.
"""

from __future__ import annotations

from typing import Any


class CoconError(Exception):
    """Root of every error raised on purpose by Cocon."""


class ConfigError(CoconError):
    """A setting is invalid; the message says which and why."""


class ClientError(CoconError):
    """An error meant for the client, with a machine-readable code."""

    code = "bad_request"

    def __init__(self, message: str, code: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.field = field

    def __reduce__(self) -> tuple[Any, ...]:
        # Errors cross the store process's pipe (store.engine.Transactions): rebuilt as they
        # are, whatever the arguments of a subclass's __init__.
        return (_rebuilt, (type(self), self.args, self.__dict__))


def _rebuilt(cls: type[ClientError], args: tuple[Any, ...], state: dict[str, Any]) -> ClientError:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class BadRequest(ClientError):
    code = "bad_request"


class NotAllowed(ClientError):
    code = "forbidden"


class NotFound(ClientError):
    code = "not_found"


class Conflict(ClientError):
    code = "conflict"


class RateLimited(ClientError):
    code = "rate_limited"

    def __init__(
        self, retry_after: float, message: str = "Doucement ! Réessayez dans un instant."
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
