"""Consultants' pages for pilot studies (blueprint ``pilots``): design, randomisation, questions, waves, links."""

from .views import bp

__all__ = ["bp"]
