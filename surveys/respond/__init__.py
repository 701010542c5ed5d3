"""The rep's survey (blueprint ``respond``): views, page forms, the survey and submit services, scoring."""

from .views import bp

__all__ = ["bp"]
