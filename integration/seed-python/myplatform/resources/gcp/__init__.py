"""Google Cloud: the per-cloud layer, found by its package name."""


def region(location: str) -> str:
    """The region of a location that may be a zone (us-central1-a)."""
    head, _, tail = location.rpartition("-")
    return head if len(tail) == 1 and "-" in head else location
