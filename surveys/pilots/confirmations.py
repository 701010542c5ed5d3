"""What a pilot's actions that cannot be undone will do, in sentences, with counts from the database.

The confirmation pages (``web.confirmation``) state these before launching or closing a study,
before issuing links again, and before closing a wave early or deleting a draft wave or study.
Counts of links follow the wave page's anonymity rule: exact before a wave opens (nobody can have
answered), a bound once it is open — an exact count of working links would move by one with each
response. Closing a wave early says how many reps were invited and never how many links stop:
invited minus unused links would be the open wave's exact number of responses.
"""

from __future__ import annotations

from collections import Counter
from datetime import date

from ..languages import LANGUAGES
from ..models import Study, Wave
from ..studies import StudyDeletion, day
from .invitations import LinksThatStop, links_that_stop, mail_targets, reissue_targets
from .translations import missing_translations
from .waves import CloseEarly, WaveDeletion


def _count(n: int, word: str, plural: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else plural or word + 's'}"


def launch_consequences(study: Study) -> list[str]:
    """What launching ``study`` locks and starts (call it once ``check_launch`` has passed)."""
    per_model = Counter(a.coaching_model for a in study.assignments)
    models = ", ".join(f"{per_model.get(m, 0):,} {m.value}" for m in study.coaching_models)
    own = sum(1 for q in study.questions if q.instrument is None)
    questions = (f"{len(study.questions)}, {own} of them the study's own" if own
                 else f"{len(study.questions)}, all from the built-in instrument")
    waves = sorted(study.waves, key=lambda w: (w.opens_on, w.label))
    planned = " and ".join(f"{w.label} ({w.opens_on.isoformat()} to {w.closes_on.isoformat()})" for w in waves)
    return [
        f"Launching locks the assignment of {_count(sum(per_model.values()), study.randomisation_unit.value)} "
        f"({models}) and the questions ({questions}): neither can be changed afterwards.",
        f"From then on, a change to the primary outcome ({study.primary_outcome.replace('_', ' ')}), the "
        f"anonymity threshold (k = {study.k_threshold}), the costs, the no-worse margins, the prior scale or the "
        "fidelity minimum needs a reason and is recorded as a deviation, printed in the report.",
        f"{_count(len(waves), 'wave')} {'is' if len(waves) == 1 else 'are'} planned: {planned}. Links can be "
        "issued from now on; reps can answer while a wave is open.",
        *_untranslated(study),
        "A launched study cannot go back to draft.",
    ]


def _untranslated(study: Study) -> list[str]:
    """The study's own questions reps will read in English, by language; nothing when all are translated."""
    missing = missing_translations(study)
    if not missing:
        return []
    counts = Counter(item.language for item in missing)
    by_language = "; ".join(f"{LANGUAGES[language]}: {n}" for language, n in counts.items())
    return [f"Some of the study's own questions have no translation ({by_language}): reps who answer in those "
            "languages will read them in English, with a note saying so. Translations cannot be added after launch."]


def _how_many(stop: LinksThatStop) -> str:
    return f"{stop.count:,}" if stop.exact else f"up to {stop.count:,}"


def close_consequences(study: Study, today: date) -> list[str]:
    """What closing ``study`` stops: every link that still works, in the waves that have not closed."""
    stops = [links_that_stop(study, wave, today) for wave in study.waves if not wave.is_closed(today)]
    total = sum(stop.count for stop in stops)
    exact = all(stop.exact for stop in stops if stop.count)
    working = f"{total:,}" if exact else f"up to {total:,}"
    return [
        f"Closing the study stops every link that still works ({working}); it cannot be reopened: no wave can be "
        "added and no link issued afterwards.",
        "The responses already given are kept and stay in the report.",
    ]


def _stopping(stop: LinksThatStop, wave: Wave) -> str:
    """``the 36 links already issued … that were not used``, or with a bound while the wave is open."""
    if stop.exact:
        links = "link" if stop.count == 1 else "links"
        were = "was" if stop.count == 1 else "were"
        return f"the {stop.count:,} {links} already issued for wave “{wave.label}” that {were} not used"
    return (f"the links already issued for wave “{wave.label}” that were not used (up to {stop.count:,} of the "
            f"{_count(stop.invited, 'rep')} invited)")


def _answered(stop: LinksThatStop, k: int) -> str:
    """Who is not affected, in the words and rounding of the wave page."""
    if stop.exact:
        return "nobody has answered yet"
    if stop.answered is None:
        return "reps who have answered are not affected"
    if stop.answered >= k:
        return f"at least {stop.answered:,} reps have answered and are not affected"
    return f"fewer than {k} reps have answered; they are not affected"


def reissue_consequences(study: Study, wave: Wave, today: date) -> list[str] | None:
    """What issuing links again for ``wave`` stops; None when no working link would stop (nothing to confirm)."""
    stop = links_that_stop(study, wave, today, reissue_targets(study, wave))
    if not stop.count:
        return None
    return [
        f"Re-issuing links stops {_stopping(stop, wave)}; {_answered(stop, study.k_threshold)}.",
        "Each rep who has not answered gets a new link in the file you download next. Links are stored only as "
        "hashes, so that file can be downloaded only this once: keep it, and send the new links.",
        "Answers a rep saved to finish later move to the new link.",
    ]


def send_consequences(study: Study, wave: Wave, today: date, reminder: bool) -> list[str] | None:
    """What an e-mail run stops (each e-mail carries a new link); None when no working link would stop."""
    _, with_email = mail_targets(study, wave, reminder)
    stop = links_that_stop(study, wave, today, reissue_targets(study, wave, only=with_email), among=len(with_email))
    if not stop.count:
        return None
    what = "reminders" if reminder else "invitations"
    answered = _answered(stop, study.k_threshold)
    verb = "stops" if stop.exact and stop.count == 1 else "stop"
    return [
        f"E-mailing {what} gives each rep it goes to a new link: {_stopping(stop, wave)} {verb} working (links in "
        "earlier e-mails or in a mail-merge file).",
        answered[:1].upper() + answered[1:] + ".",
    ]


def close_early_consequences(preview: CloseEarly, k: int) -> list[str]:
    """What closing a wave early does (call it once ``waves.close_early_preview`` has passed)."""
    wave = preview.wave
    invited = f"{_count(preview.invited, 'rep')} {'was' if preview.invited == 1 else 'were'} invited to this wave"
    return [
        f"It was planned to close on {day(wave.closes_on)}; it closes today instead.",
        f"Reps who have not answered can no longer answer: their links stop working at once ({invited}).",
        "Its results can be read in the report and exported straight away, as for a wave that has ended — for "
        f"every group of at least {k} people who answered.",
        *(["It is the study's first closed wave: the reps the CRM and coaching-session figures count are fixed "
           "from the next reading of the report, as they are at the first wave that ends."]
          if preview.freezes_population else []),
        f"You can reopen it until {day(wave.closes_on)} only if nobody has answered it: once a wave's results can "
        "be read, a second version of them would tell what the people who answered in between said. Otherwise, "
        "add a new wave for the others.",
    ]


def wave_deletion_consequences(preview: WaveDeletion) -> list[str]:
    """What deleting a wave that has not opened takes with it."""
    wave, links = preview.wave, preview.links
    return [
        f"It would have opened on {day(wave.opens_on)} and closed on {day(wave.closes_on)}. Nobody has answered it.",
        (f"The {_count(links, 'link')} issued for it {'stops' if links == 1 else 'stop'} working." if links
         else "No links have been issued for it."),
        "This cannot be undone; you can add a wave again later.",
    ]


def study_deletion_consequences(preview: StudyDeletion) -> list[str]:
    """What deleting a draft study nobody answered takes with it."""
    study = preview.study
    return [
        f"It is a draft that nobody has answered. Deleting it removes its design, its {_count(preview.waves, 'wave')} "
        f"and {_count(preview.own_questions, 'question')} of its own.",
        f"It removes the assignment of {_count(preview.assigned, study.randomisation_unit.value)} to coaching models.",
        (f"{_count(preview.links, 'survey link')} already issued {'stops' if preview.links == 1 else 'stop'} working."
         if preview.links else "No survey links were issued."),
        "The organisation's roster, CRM data and coaching sessions stay. This cannot be undone.",
    ]
