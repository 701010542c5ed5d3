"""Consultants' pages for client organisations (blueprint ``organisations``): roster, CRM and session imports."""

from . import edit_views  # noqa: F401 -- registers its routes on bp
from .views import bp

__all__ = ["bp"]
