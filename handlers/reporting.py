"""Listeners that fail tell the person who clicked, with an id to find the failure in the log.

Bolt hands an exception to the app's error handler, but a listener that fails right after
acknowledging can make Bolt answer Slack with a 404 (it drops the acknowledgement), and the
person sees nothing. So each listener is wrapped: an unexpected exception is logged with an
id and answered in place (through the request's `response_url`), and goes no further.
"""

from __future__ import annotations

import inspect
import logging
import uuid
from collections.abc import Callable
from typing import Any

from slack_bolt import Respond

log = logging.getLogger(__name__)

FAILED = (
    "Sorry, that did not work: something failed on overheard's side. Try again; if it "
    "keeps failing, give whoever runs overheard this id"
)


def report_failure(error: BaseException, body: dict[str, Any], respond: Respond | None) -> str:
    """Log `error` under a fresh id and tell the person in place when Slack lets us; the id."""
    error_id = uuid.uuid4().hex[:12]
    what = body.get("type") or body.get("command") or "request"
    log.error("listener failed for %s (error id %s)", what, error_id, exc_info=error)
    if respond is None or not (body.get("response_url") or body.get("response_urls")):
        return error_id  # a modal submission or an event: nobody to answer in place
    try:
        respond(
            text=f"{FAILED} (error id `{error_id}`)",
            response_type="ephemeral",
            replace_original=False,
        )
    except Exception:  # Slack unreachable: the log line above stays
        log.warning("could not tell the user about error %s", error_id)
    return error_id


def reported(listener: Callable[..., Any]) -> Callable[..., Any]:
    """`listener`, with any unexpected exception reported by `report_failure` instead.

    Bolt passes a listener the arguments its signature names; the wrapper names the
    listener's own and `body` and `respond`, and hands the listener only its own.
    """
    signature = inspect.signature(listener)
    own = list(signature.parameters)
    extra = [
        inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        for name in ("body", "respond")
        if name not in signature.parameters
    ]

    def wrapper(**kwargs: Any) -> Any:
        try:
            return listener(**{name: kwargs[name] for name in own})
        except Exception as exc:
            report_failure(exc, kwargs.get("body") or {}, kwargs.get("respond"))
            return None

    wrapper.__name__ = getattr(listener, "__name__", "listener")
    wrapper.__qualname__ = getattr(listener, "__qualname__", wrapper.__name__)
    wrapper.__doc__ = listener.__doc__
    wrapper.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[*signature.parameters.values(), *extra]
    )
    return wrapper
