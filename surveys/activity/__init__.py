"""Consultants' view of the audit log (blueprint ``activity``): who did what, when; read-only, exportable."""

from .views import bp

__all__ = ["bp"]
