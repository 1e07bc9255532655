"""Parameters people type: time bounds and bucket lengths (for the CLI, MCP and the web).

- :func:`parse_every`: ``30s``, ``5m``, ``1h``, ``1d``, ``2w`` or plain seconds → seconds.
- :func:`parse_bound`: ``2015-02-05`` (a whole day, inclusive) or an ISO 8601 time
  (``2015-02-05T07:00``; without an offset it is in the vault's time zone).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

from .model import QueryError

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
EVERY_RE = re.compile(r"^\s*(\d+)\s*([smhdw]?)\s*$")


def parse_every(text: str | None) -> int | None:
    """Seconds of a bucket length (``5m`` → 300); None/empty/``raw`` → None (one per window).

    Raises:
        QueryError: not a positive duration such as 5m, 1h, 1d.
    """
    if text is None or text.strip() in ("", "raw"):
        return None
    m = EVERY_RE.match(text.lower())
    if not m or int(m.group(1)) <= 0:
        raise QueryError(f"--every {text!r} is not a duration such as 5m, 1h or 1d")
    return int(m.group(1)) * UNITS[m.group(2) or "s"]


def parse_bound(text: str, tz: ZoneInfo, what: str = "--since") -> date | datetime:
    """A date (``YYYY-MM-DD``) or an aware datetime (naive ISO times are in ``tz``).

    Raises:
        QueryError: neither a date nor an ISO 8601 time (names ``what``).
    """
    t = text.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", t):
            return date.fromisoformat(t)
        d = datetime.fromisoformat(t.replace("Z", "+00:00").replace(" ", "T", 1))
    except ValueError:
        raise QueryError(
            f"{what} {text!r} is not a date (2015-02-05) or ISO time (2015-02-05T07:00)"
        ) from None
    return d if d.tzinfo else d.replace(tzinfo=tz)
