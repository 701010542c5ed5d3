"""The base of result objects: frozen dataclasses that turn into plain dictionaries for JSON."""

from dataclasses import asdict


class Result:
    """Mixin for result dataclasses whose fields are all plain values."""

    def to_dict(self) -> dict:
        """The fields as a dictionary (nested dataclasses included)."""
        return asdict(self)
