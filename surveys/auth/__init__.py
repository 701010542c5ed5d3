"""Log-in and log-out for consultants and leaders (blueprint ``auth``)."""

from .views import bp

__all__ = ["bp"]
