"""Teams as the report groups them: a region and a team-size band, frozen on each response.

A response carries the region and the size band its team had when it was submitted (DESIGN.md
section 4): a later roster edit — a rep leaving, a team moving region — moves no response between
the report's cells, so two readings of a closed wave cannot be differenced. The submit reads both
in its one query; a response stored through the ORM (tests, repairs) gets them from an ORM hook
in ``models`` at that moment; bulk loads (the demo, benchmarks) set them themselves.

Bands are of the team's active reps. This module imports nothing of the app, so the schema can use it.
"""

from __future__ import annotations

BANDS = (("up to 7 reps", 0, 7), ("8 to 10 reps", 8, 10), ("11 or more reps", 11, 10**9))
NO_REGION = "(no region)"


def band_of(size: int) -> str:
    """The team-size band of a team with ``size`` active reps."""
    return next(label for label, low, high in BANDS if low <= size <= high)

