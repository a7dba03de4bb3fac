"""Start-up patches for botbuilder 4.17.1's dependencies (the SDK is archived; no upstream fix)."""

from __future__ import annotations

_applied = False


def apply_msrest_patch() -> None:
    """Make msrest's retry policy cheap to construct; it changes no behaviour.

    ``ClientRetryPolicy.__init__`` rebuilds a list comprehension over its 501-element
    ``safe_codes`` list for every client, at least twice per turn: ~80% of an echo bot's CPU.
    A frozenset answers the same membership test in O(1).
    """
    global _applied
    if _applied:
        return
    from msrest.universal_http.requests import ClientRetryPolicy

    # The annotation says list; only membership is ever asked of it.
    ClientRetryPolicy.safe_codes = frozenset(ClientRetryPolicy.safe_codes)  # type: ignore[assignment]
    _applied = True
