"""CoachLab's statistics: pure functions on pandas DataFrames, returning frozen result objects.

Nothing here imports Flask, SQLAlchemy or ``surveys``, so the library works on a consultant's
own CSV file or in a notebook as well as behind the web report.
"""

from ._result import json_safe

__all__ = ["json_safe"]
