"""The rep's survey: ``/s/<token>`` exchanges the link for a session, then ``/survey/<page>``."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from .. import languages
from ..access import study_or_404
from ..extensions import csrf, limiter
from ..models import Study
from ..web import today
from . import submit, survey, survey_cookie
from .forms import field_name, survey_page_form, survey_page_form_class
from .survey_cookie import SurveyPass

bp = Blueprint("respond", __name__)
# Not a hole: every survey POST goes through a FlaskForm, which checks the CSRF token itself, so an
# expired token can re-show the page with the answers kept instead of a bare 400. Guarded by
# tests/test_survey_live.py::test_form_without_a_csrf_token_is_refused_and_nothing_is_stored,
# ::test_form_with_a_forged_csrf_token_is_refused and ::test_expired_csrf_token_shows_the_page_again_….
csrf.exempt(bp)

ALWAYS_ALLOWED_FIELDS = {"csrf_token", "action", "language"}
DRAFT_REPLACED = _l("Your saved answers were replaced on another device: this survey link was used to save "
                    "answers in another browser, and only the answers saved last are kept. Please start again here.")


@bp.before_request
def preview_language():
    """A preview in the language it asks for (a rep's page has the rep's: ``languages``)."""
    if request.endpoint == "respond.preview":
        languages.use(languages.normalise(request.args.get("language")))


@bp.after_request
def private_headers(response):
    """Survey pages leak nothing through the Referer header or caches."""
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.errorhandler(survey.SurveyUnavailable)
def unavailable(error: survey.SurveyUnavailable):
    """A link that cannot be used now gets a page that says why."""
    return render_template("respond/unavailable.html", title=error.title, message=error.message), error.status


# Every opening counts, working links too: counting only refusals let a client poll the status of
# every link it holds (unanswered 302, answered 410) as often as it liked (review F2).
@bp.route("/s/<token>")
@limiter.limit(lambda: current_app.config["LINK_RATE_LIMIT"])
def redeem(token: str):
    """Exchange the token for a session cookie and continue at a URL without the token."""
    if len(token) > 200:
        raise survey.UnknownLink(_("This survey link is not known. Check that you copied the whole link."))
    if survey_cookie.language() is None:  # a browser new to the survey: the refusal too in the roster's language
        languages.use(survey.roster_language(token) or languages.current())
    link = survey.redeem(token, today())
    current = survey_cookie.held()
    survey_pass = survey_cookie.pass_for(link, current)
    survey_cookie.hold(survey_pass)
    if current is None or current.draft_key != survey_pass.draft_key:
        # A fresh start, maybe of another rep on a shared device: in this rep's roster language, else their
        # browser's — never in what the last person here chose.
        if link.language:
            survey_cookie.choose_language(link.language)
        else:
            survey_cookie.forget_language()
    return redirect(url_for("respond.resume"))


@bp.route("/survey")
def resume():
    """Continue where this browser stopped (page 1 in a browser that saved nothing)."""
    _, _, draft = _current()
    return redirect(url_for("respond.page", number=draft.page + 1 if draft else 1))


@bp.route("/survey/<int:number>", methods=["GET", "POST"])
def page(number: int):
    """One page of the survey; the last one submits."""
    link, held, draft = _current()
    if draft is None:  # replaced on another device: start again at page 1, where the message is shown
        if request.method == "GET" and number == 1:
            draft = survey.NO_DRAFT
        else:
            return redirect(url_for("respond.page", number=1))
    plan = survey.survey_plan(link.study_id, link.questions_version)
    pages = plan.pages
    index = _page_index(number, pages)
    questions = pages[index].questions
    language = languages.current()
    own = language in plan.translations and survey.own_translations_shown(link, language)
    form = _page_form(plan, index, request.form if request.method == "POST" else None, draft.answers, own)
    if request.method == "GET":
        return _render(link, plan, index, form, own=own)

    _refuse_unknown_fields(questions)
    if "language" in request.form:
        return _switch_language(link, held, draft, plan, index, form, own)
    action = request.form.get("action", "next")
    if not form.validate():
        if action == "back" and "csrf_token" not in form.errors:
            _save(link, held, max(index - 1, 0), form.valid_answers())
            return redirect(url_for("respond.page", number=max(index, 1)))
        return _render(link, plan, index, form, status=400, own=own)
    if action == "back":
        _save(link, held, max(index - 1, 0), form.answers())
        return redirect(url_for("respond.page", number=max(index, 1)))
    if index < len(pages) - 1:
        _save(link, held, index + 1, form.answers())
        return redirect(url_for("respond.page", number=index + 2))
    try:
        submit.submit(link, held.draft_key, form.answers(), today())
    except survey.Incomplete as missing:
        _save(link, held, missing.page, form.answers())
        return redirect(url_for("respond.page", number=missing.page + 1, missing=1))
    survey_cookie.release()
    return redirect(url_for("respond.thanks"))


@bp.route("/survey/thanks")
def thanks():
    """Shown once the response is stored."""
    return render_template("respond/thanks.html")


@bp.route("/studies/<int:study_id>/preview/<int:number>", methods=["GET", "POST"])
@login_required
def preview(study_id: int, number: int):
    """The survey exactly as a rep sees it, without a token; nothing is stored."""
    study = study_or_404(current_user, study_id)
    plan = survey.survey_plan(study.id, study.questions_version)
    pages = plan.pages
    index = _page_index(number, pages)
    form = _page_form(plan, index, request.form if request.method == "POST" else None)
    if request.method == "POST":
        _refuse_unknown_fields(pages[index].questions)
        action = request.form.get("action", "next")
        language = languages.normalise(request.args.get("language"))  # the preview stays in its language
        if action == "back":
            return redirect(url_for("respond.preview", study_id=study.id, number=max(index, 1), language=language))
        if not form.validate():
            return _render(study, plan, index, form, status=400, preview=True)
        if index < len(pages) - 1:
            return redirect(url_for("respond.preview", study_id=study.id, number=index + 2, language=language))
        return render_template("respond/thanks.html", preview=True, study=study)
    return _render(study, plan, index, form, preview=True)


def _switch_language(link: survey.Link, held: SurveyPass, draft: survey.Draft, plan: survey.SurveyPlan,
                     index: int, form, own: bool):
    """Show the survey in another language, keeping what the rep has answered on this page (in the draft)."""
    language = languages.normalise(request.form.get("language"))
    if language is None:
        abort(400)
    form.validate()
    if form.errors.get("csrf_token"):
        return _render(link, plan, index, form, status=400, own=own)
    answers = form.valid_answers()
    if any(answers.values()) or held.saved:
        _save(link, held, draft.page, answers)
    survey_cookie.choose_language(language)
    return redirect(url_for("respond.page", number=index + 1))


def _current() -> tuple[survey.Link, SurveyPass, survey.Draft | None]:
    """The link this browser opened, if still usable, with its pass and its own draft; a clear page otherwise.

    The draft is None when this browser had saved one and it is gone or no longer opens with its
    key: another browser saved with the same link since. The rep is told once, and starts again.
    """
    held = survey_cookie.held()
    if held is None:
        raise survey.SurveyUnavailable(_("Please open the personal link from your invitation to start or "
                                         "continue the survey."))
    try:
        link = survey.open_link(held.invitation_id, today())
    except survey.LinkReplaced:
        raise  # keep the key: the newer link carries this browser's draft (``pass_for``)
    except survey.SurveyUnavailable:
        survey_cookie.release()
        raise
    draft = link.draft(held.draft_key)
    if held.saved and not draft.mine:
        held = held.having_saved(False)
        survey_cookie.hold(held)
        flash(DRAFT_REPLACED, "error")
        return link, held, None
    return link, held, draft


def _save(link: survey.Link, held: SurveyPass, page: int, answers: dict[str, str]) -> None:
    """Save the draft under this browser's key, and remember in its cookie that it has one."""
    survey.save_draft(link, held.draft_key, page, answers)
    if not held.saved:
        survey_cookie.hold(held.having_saved())


def _page_form(plan: survey.SurveyPlan, index: int, formdata=None, saved: dict[str, str] | None = None,
               own: bool = True):
    """The form of page ``index`` in this request's language (``own``: with the study's own translations,
    ``survey.own_translations_shown``); its class is built once per survey version, language and process."""
    language = languages.current()
    form_class = plan.forms.get((index, language, own))
    if form_class is None:
        form_class = plan.forms.setdefault((index, language, own), survey_page_form_class(
            plan.pages[index].questions, plan.text(language, own)))
    return survey_page_form(plan.pages[index].questions, formdata, data=saved, form_class=form_class)


def _page_index(number: int, pages: list) -> int:
    if not 1 <= number <= len(pages):
        abort(404)
    return number - 1


def _refuse_unknown_fields(questions) -> None:
    """A POST naming a field this page does not have is forged or stale: 400, nothing stored."""
    allowed = {field_name(q) for q in questions} | ALWAYS_ALLOWED_FIELDS
    if set(request.form.keys()) - allowed:
        abort(400)


def _render(study: Study | survey.Link, plan: survey.SurveyPlan, index: int, form, status: int = 200,
            preview: bool = False, own: bool = True):
    csrf_expired = bool(form.errors.get("csrf_token"))
    pages = plan.pages
    return render_template(
        "respond/page.html", study=study, pages=pages, index=index, page=pages[index], form=form,
        field_name=field_name, text=plan.text(languages.current(), own), preview=preview,
        csrf_expired=csrf_expired,
        missing=request.args.get("missing") == "1"), status
