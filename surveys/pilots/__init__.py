"""Consultants' pages for pilot studies (blueprint ``pilots``): design, randomisation, questions, waves, links."""

from . import edit_views  # noqa: F401 -- registers its routes on bp
from .views import bp

__all__ = ["bp"]
