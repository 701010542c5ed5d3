"""The leaders' comparison report (blueprint ``reports``): the report service, its charts, tables and files."""

from .views import bp

__all__ = ["bp"]
