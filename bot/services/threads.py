"""Thread keys: what a card brings that leads it to its conversation's top-level card.

Every card brings keys: its conversation (`hackernews:46618752`) and, when it is about a page,
the page (`link:https://www.acme.dev/blog/series-b`), spelled one way whatever network saw it.
"""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit, urlunsplit

from bot.store.models import Mention

KEY_MAX_CHARS = 700  # ThreadKey.key
LINK_MAX_CHARS = 2000  # Mention.link_url
_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalise_link(url: str | None) -> str | None:
    """A page's address as one spelling: scheme and host lower-case, no fragment, no utm_*.

    None for anything that is not an http(s) URL with a host, or that is too long to keep.
    """
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = parts.hostname  # lower-cased, without any user name or password
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc += f":{port}"
    # Tracking parameters name the campaign that shared a page, not the page.
    query = "&".join(
        piece
        for piece in parts.query.split("&")
        if piece and not piece.split("=", 1)[0].lower().startswith("utm_")
    )
    link = urlunsplit((scheme, netloc, parts.path or "/", query, ""))
    return link if len(link) <= LINK_MAX_CHARS else None


def conversation_key(mention: Mention) -> str:
    """The key of the mention's conversation: its network's thread, or the post itself."""
    return f"{mention.network}:{mention.conversation_id or mention.external_id}"


def link_key(link_url: str) -> str:
    """The key of a (normalised) page address; a very long one is keyed by its hash."""
    key = f"link:{link_url}"
    if len(key) <= KEY_MAX_CHARS:
        return key
    return f"link:sha256:{hashlib.sha256(link_url.encode()).hexdigest()}"


def thread_keys(mention: Mention) -> list[str]:
    """The keys a mention's card brings, its conversation's first."""
    keys = [conversation_key(mention)]
    if mention.link_url:
        keys.append(link_key(mention.link_url))
    return keys
