"""The base of result objects: frozen dataclasses that turn into plain dictionaries for JSON."""

from dataclasses import asdict


class Result:
    """Mixin for result dataclasses whose fields are plain values or other results.

    A result whose JSON has another shape (renamed, added or reordered keys) writes its own ``to_dict``.
    """

    def to_dict(self) -> dict:
        """The fields as a dictionary, in field order (nested dataclasses included; tuples stay
        tuples, which JSON writes as lists)."""
        return asdict(self)
