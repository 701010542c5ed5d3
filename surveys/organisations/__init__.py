"""Consultants' pages for client organisations (blueprint ``organisations``): roster, CRM and session imports,
and who has access."""

from . import people_views  # noqa: F401 - registers its routes on bp
from .views import bp

__all__ = ["bp"]
