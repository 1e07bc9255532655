"""The site's error."""

from __future__ import annotations

from ..errors import VaultError


class SiteBuildError(VaultError):
    """The site could not be built (MkDocs failed, or the output folder is not ours)."""
