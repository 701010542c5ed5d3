"""What the rep's survey cookie holds: which link this browser opened and the key of its draft.

The draft key is random, made when a browser opens a link, and kept nowhere but in this cookie:
the database holds only the draft sealed under it (``survey.save_draft``), so a draft opens in the
browser that saved it and nowhere else. The entry itself is sealed too, under a key derived from
``SECRET_KEY``: Flask's session cookie is signed, not encrypted, and would otherwise show the
invitation id (which names the rep) and the draft key to anyone who sees the cookie.

A browser that opens its own link again keeps its key; so does one that opens the newer link a
consultant issued when its draft moved there. Any other browser gets a fresh key and an empty survey.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from flask import current_app, session

from ..languages import SESSION_KEY as LANGUAGE_KEY
from ..languages import normalise
from . import sealing
from .survey import Link

SESSION_KEY = "survey"
# The language the rep chose (or their roster's), ``LANGUAGE_KEY``: in this browser's cookie only, never with a
# response. It outlives the pass, so that the thank-you page after the submit is in the same language, and is
# set afresh when another link is opened here (``choose_language`` or ``forget_language``).
LEGACY_KEY = "survey_invitation"  # what earlier versions kept, in the clear
_CONTEXT = "survey cookie"


@dataclass(frozen=True)
class SurveyPass:
    """This browser's hold on one link: the invitation, its draft key, and whether it saved a draft."""

    invitation_id: int
    draft_key: bytes
    saved: bool = False

    def having_saved(self, saved: bool = True) -> SurveyPass:
        return replace(self, saved=saved)


def _cookie_key() -> bytes:
    return sealing.derived_key(current_app.secret_key, _CONTEXT)


def held() -> SurveyPass | None:
    """The pass in this request's session, or None (none, or one that does not open)."""
    value = sealing.unseal(_cookie_key(), _CONTEXT, session.get(SESSION_KEY))
    if not isinstance(value, dict):
        return None
    invitation_id, key, saved = value.get("i"), sealing.decode_key(value.get("k")), value.get("s")
    if not isinstance(invitation_id, int) or isinstance(invitation_id, bool) or key is None:
        return None
    return SurveyPass(invitation_id, key, saved is True)


def hold(survey_pass: SurveyPass) -> None:
    """Put ``survey_pass`` in the session, sealed; the cookie outlives the browser so the rep can resume."""
    session.pop(LEGACY_KEY, None)
    session[SESSION_KEY] = sealing.seal(_cookie_key(), _CONTEXT, {
        "i": survey_pass.invitation_id, "k": sealing.encode_key(survey_pass.draft_key), "s": survey_pass.saved})
    session.permanent = True


def release() -> None:
    """Forget the link and its draft key (after the submit, or when the link can no longer be used)."""
    session.pop(SESSION_KEY, None)
    session.pop(LEGACY_KEY, None)


def language() -> str | None:
    """The language this browser's survey is shown in, if one was chosen."""
    return normalise(session.get(LANGUAGE_KEY))


def choose_language(language: str) -> None:
    session[LANGUAGE_KEY] = language
    session.permanent = True


def forget_language() -> None:
    session.pop(LANGUAGE_KEY, None)


def pass_for(link: Link, current: SurveyPass | None) -> SurveyPass:
    """The pass of a browser that has just opened ``link``: its own key if the draft is its own, else a fresh one."""
    if current is not None and (current.invitation_id == link.invitation_id or link.draft(current.draft_key).mine):
        return replace(current, invitation_id=link.invitation_id)
    return SurveyPass(link.invitation_id, sealing.new_key())
