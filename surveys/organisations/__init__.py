"""Consultants' pages for client organisations (blueprint ``organisations``): roster, CRM and session imports."""

from .views import bp

__all__ = ["bp"]
