"""What the patient's own page says (clinical-reference §12.2, §6), in plain words (grade 8 or lower).

The emergency and same-day wording fills in the clinic's settings (emergency number, emergency
department, urgent advice line), like the handout's safety net. Kept out of the page so the
reading-level test and the page share one copy.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Final

from dashboard.config import Settings

TITLE: Final = "Before your appointment"
DIARY_TITLE: Final = "Your walking diary"
NOT_WATCHED: Final = "Nobody watches this form all the time. It is not a way to get help quickly."
IDENTITY_HELP: Final = "So we know it is you. Type it as day, month, year, for example 09/03/1961."
THANK_YOU: Final = (
    "Thank you. Your answers are with your clinic. Your physiotherapist will go through them with you "
    "at your appointment."
)
DIARY_SAVED: Final = "Saved. Thank you."
# Beside the send button after a refused send: the messages themselves sit under their questions,
# which on a phone are far above the button the patient just pressed.
FIX_ABOVE: Final = "Nothing was sent yet. Please look again at the answers marked in red above, then send."
EASE_BACK: Final = (
    "Your last two walks were in the red. Go back to your last comfortable week: walk for about {minutes} "
    "at a time, and build up again slowly once the pain settles."
)
EASE_BACK_NO_GREEN: Final = (
    "Your last two walks were in the red. Walk less for a few days, and build up again slowly once the pain "
    "settles. Tell your physiotherapist at your next visit."
)
PAIN_SCALE: Final = "0 means no pain, 10 means the worst pain you can imagine."
PSFS_SCALE: Final = (
    "0 means you cannot do it at all, 10 means you can do it as well as before your back problem."
)


def emergency_now(settings: Settings) -> str:
    """The instruction shown at once for an answer the provisional screening ranks EMERGENCY (§12.2)."""
    return (
        f"**Go to {settings.emergency_department} or call {settings.emergency_number} now.** "
        "Do not wait for your appointment. " + NOT_WATCHED
    )


def same_day(settings: Settings) -> str:
    """The advice shown at once for "not sure" to a cauda equina question (§12.2, §6 theme 3)."""
    return (
        f"Please get advice today from {settings.urgent_advice}. If it gets worse, go to "
        f"{settings.emergency_department} or call {settings.emergency_number}."
    )


def safety_net(settings: Settings) -> str:
    """The short safety-net box every diary and check-in screen carries (§12.3, §6)."""
    return (
        f"**Get help now: call {settings.emergency_number} or go to {settings.emergency_department}** "
        "if you have any of these. Numbness between your legs or around your bottom. New trouble with "
        "peeing or pooing. Pain, numbness or weakness in both legs. "
        f"**Get advice today from {settings.urgent_advice}** if you feel hot and shivery or very unwell, "
        "or if a leg is getting weaker."
    )


def minutes_words(minutes: float) -> str:
    """Minutes as a patient reads them: "20 minutes", "1 minute"."""
    whole = f"{minutes:g}"
    return f"{whole} minute" if whole == "1" else f"{whole} minutes"


_DATE_PARTS = re.compile(r"^\s*(\d{1,2})\s*[./\- ]\s*(\d{1,2})\s*[./\- ]\s*(\d{4})\s*$")
_ISO = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})\s*$")
BIRTH_DATE_MESSAGE: Final = "Type your date of birth as day, month, year, for example 09/03/1961."


def parse_birth_date(text: str, today: dt.date) -> dt.date | str:
    """A typed date of birth (DD/MM/YYYY, or YYYY-MM-DD) or the message saying how to type it."""
    if len(text) > 40:
        return BIRTH_DATE_MESSAGE
    if match := _ISO.match(text):
        year, month, day = (int(part) for part in match.groups())
    elif match := _DATE_PARTS.match(text):
        day, month, year = (int(part) for part in match.groups())
    else:
        return BIRTH_DATE_MESSAGE
    try:
        born = dt.date(year, month, day)
    except ValueError:
        return "That date does not exist. Please check the day and the month."
    if born > today or born.year < 1900:
        return "Please check the year."
    return born


def diary_line(walk_date: dt.date, walked_min: float, light_words: str) -> str:
    """One diary entry as the patient's list shows it (markdown; nothing user-typed but numbers)."""
    return f"**{walk_date:%a %d %b}** · {minutes_words(walked_min)} · {light_words}"
