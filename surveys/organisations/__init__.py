"""Consultants' pages for client organisations (blueprint ``organisations``): roster, CRM and session imports,
and who has access."""

from .views import bp

__all__ = ["bp"]
