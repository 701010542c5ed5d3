"""The one family of refusals: something a user asked for cannot be done now, and the message says why.

Services raise a ``Refused`` (or one of its kinds: ``AccountError``, ``StudyError``, ``TableError``, …);
views show it with ``web.refused`` or as a form error, and commands print it as one line (exit 2).
The message is a clause in lower case without a full stop, so that the page or command can frame it.
"""


class Refused(ValueError):
    """A request that cannot be carried out; ``str(error)`` says why, in words for the person who asked."""
