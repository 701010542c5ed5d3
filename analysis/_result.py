"""The base of result objects: frozen dataclasses that turn into plain dictionaries for JSON."""

import math
from dataclasses import asdict


class Result:
    """Mixin for result dataclasses whose fields are plain values or other results.

    A result whose JSON has another shape (renamed, added or reordered keys) writes its own ``to_dict``.
    """

    def to_dict(self) -> dict:
        """The fields as a dictionary, in field order (nested dataclasses included; tuples stay
        tuples, which JSON writes as lists)."""
        return asdict(self)


def json_safe(value):
    """JSON cannot carry NaN or infinity: they become null (recursively); tuples become lists.

    For the dictionaries of :meth:`Result.to_dict`, before ``json.dumps(..., allow_nan=False)``.
    """
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value
