"""What a file is, from its bytes (never from its name): the device and the server both ask here."""

from __future__ import annotations

import puremagic


def sniff(data: bytes) -> str:
    """The media type the bytes' magic numbers say (``""`` when they say nothing known)."""
    if not data:
        return ""
    try:
        return str(puremagic.from_string(data, mime=True) or "")
    except (puremagic.PureError, ValueError):
        return ""
