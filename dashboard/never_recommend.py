"""Words the plan must never recommend (clinical-reference §8.7): each term with the pattern that
finds it and why, checked on the clinician's note before a handout is given.
"""

from __future__ import annotations

import re
from typing import NamedTuple


class NeverTerm(NamedTuple):
    """A term the plan must never recommend, the pattern that finds it, and why."""

    label: str
    pattern: str
    reason: str


_NG59 = "NICE NG59 do-not-offer list [S]"
NEVER_RECOMMEND: tuple[NeverTerm, ...] = (
    NeverTerm("belt or corset", r"\b(corsets?|(back|support|lumbar) belts?|back braces?)\b", _NG59),
    NeverTerm("orthotics or insoles", r"\b(orthotics?|orthoses|insoles?|arch supports?)\b", _NG59),
    NeverTerm("rocker-sole shoes", r"\brocker\b", _NG59),
    NeverTerm("traction", r"\btraction\b", _NG59),
    NeverTerm("acupuncture", r"\b(acupuncture|dry needling)\b", _NG59),
    NeverTerm("ultrasound", r"\bultrasound\b", _NG59),
    # Upper case only: "tens" and "pens" are ordinary words.
    NeverTerm("TENS or PENS", r"(?-i:\b(TENS|PENS)\b)|\bnerve stimulation\b", _NG59),
    NeverTerm("paracetamol", r"\b(paracetamol|acetaminophen)\b", _NG59),
    NeverTerm(
        "drug advice",
        r"\b(ibuprofen|naproxen|diclofenac|nsaids?|codeine|opioids?|tramadol|morphine|gabapentin|"
        r"pregabalin|amitriptyline|duloxetine|pain ?killers?|medication|medicines?|tablets?|pills?|drugs?)\b",
        "Drug advice belongs with the prescriber (clinical-reference §8.6, §8.7)",
    ),
    NeverTerm(
        "imaging",
        r"\b(x-?rays?|(?-i:MRI)|ct scans?|scans?|imaging)\b",
        "No routine imaging (NICE NG59 1.1.4 [C])",
    ),
    NeverTerm(
        "bed rest",
        r"\b(bed ?rest|(rest|stay|lie|lying|resting|staying) in bed)\b",
        "Avoid bed rest (NG59 [C])",
    ),
    NeverTerm(
        "walking stick",
        r"\b(walking (sticks?|canes?)|canes?)\b",
        "A stick did not improve walking tolerance (Comer 2010 [C])",
    ),
    NeverTerm(
        "one correct posture",
        r"\b(bad|poor|wrong|incorrect|correct|proper|perfect|good|right) (posture|way to (sit|stand))\b",
        "No posture is the one right one (Slater 2019 [C])",
    ),
    NeverTerm(
        "posture or footwear causes pain",
        r"\b(posture|footwear|shoes?|heels?)\b[^.]{0,40}\b(causes?|caused|causing|to blame)\b",
        "Never say posture or footwear causes the pain (clinical-reference §8)",
    ),
)
_NEVER_PATTERNS = tuple((term.label, re.compile(term.pattern, re.IGNORECASE)) for term in NEVER_RECOMMEND)


def never_recommend_hits(text: str) -> list[str]:
    """Labels of the never-recommend terms found in a text, in NEVER_RECOMMEND order."""
    return [label for label, pattern in _NEVER_PATTERNS if pattern.search(text)]
