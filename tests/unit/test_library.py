"""The advice library: it loads, every entry is unique, sourced, readable (Flesch-Kincaid grade 8 or
below, counted with pyphen) and free of never-recommend terms; bad files fail with a clear error.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pyphen
import pytest

from dashboard.config import Settings
from dashboard.plan import PLACEHOLDERS, AdviceItem, Exercise, Library, never_recommend_hits
from data.library import LIBRARY_DIR, LibraryError, load_library

# Readability ceiling for every patient text (clinical-reference §6, §8 [U: project rule]).
MAX_GRADE = 8.0
_HYPHENATOR = pyphen.Pyphen(lang="en_GB")


def syllables(word: str) -> int:
    """Syllables in a word: the larger of pyphen's hyphenation count and the vowel-group count.

    pyphen never splits close to a word's ends ("ev-ery"), so it undercounts short words; the
    vowel groups catch those. Taking the larger errs towards a higher, stricter grade.
    """
    lower = word.lower()
    by_hyphens = len(_HYPHENATOR.positions(lower)) + 1
    by_vowels = len(re.findall(r"[aeiouy]+", lower))
    if lower.endswith("e") and not lower.endswith(("le", "ee")) and by_vowels > 1:
        by_vowels -= 1  # a silent final e
    return max(1, by_hyphens, by_vowels)


def fk_grade(text: str) -> float:
    """Flesch-Kincaid grade level: 0.39 words/sentence + 11.8 syllables/word - 15.59."""
    sentences = [part for part in re.split(r"[.!?:;]+", text) if re.search(r"[A-Za-z0-9]", part)]
    words = re.findall(r"[A-Za-z]+(?:['’-][A-Za-z]+)*|\d+", text)
    total_syllables = sum(syllables(word) for word in words)
    return 0.39 * len(words) / len(sentences) + 11.8 * total_syllables / len(words) - 15.59


def as_sentences(parts: list[str]) -> str:
    """Join title-less text parts, ending each bullet or step as a sentence."""
    return " ".join(part if part.rstrip()[-1:] in ".:!?" else f"{part}." for part in parts if part)


def readable_text(entry: AdviceItem | Exercise) -> str:
    """What a patient reads in prose, placeholders filled with the default settings.

    Titles are headings, not sentences, except in the safety net, where each title is an instruction.
    """
    if isinstance(entry, Exercise):
        parts = [entry.purpose, *entry.steps, entry.dose]
    else:
        parts = [entry.reassurance, entry.text, *entry.bullets]
        if entry.id.startswith("safety_net"):
            parts.insert(0, entry.title)
    values = {name: getattr(Settings(), name) for name in PLACEHOLDERS}
    return as_sentences(parts).format_map(values)


LIBRARY = load_library()
ENTRIES = list(LIBRARY.entries())
ENTRY_IDS = [entry.id for entry in ENTRIES]


def copy_library(tmp_path: Path) -> Path:
    """A writable copy of the shipped library directory."""
    target = tmp_path / "library"
    shutil.copytree(LIBRARY_DIR, target)
    return target


def replace_in(path: Path, old: str, new: str) -> None:
    """Edit one library file in place (the text must be there)."""
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


# --- The shipped library ---------------------------------------------------------------------------


def test_the_shipped_library_loads_with_a_twelve_hex_version() -> None:
    assert isinstance(LIBRARY, Library)
    assert re.fullmatch(r"[0-9a-f]{12}", LIBRARY.version)


def test_the_version_changes_when_any_file_changes(tmp_path: Path) -> None:
    directory = copy_library(tmp_path)
    before = load_library(directory).version
    replace_in(directory / "footwear.yaml", "low heel", "lower heel")
    assert load_library(directory).version != before


def test_the_version_is_the_same_for_the_same_files(tmp_path: Path) -> None:
    assert load_library(copy_library(tmp_path)).version == LIBRARY.version


def test_every_id_is_unique_across_the_library() -> None:
    assert len(ENTRY_IDS) == len(set(ENTRY_IDS))


@pytest.mark.parametrize("entry", ENTRIES, ids=ENTRY_IDS)
def test_every_entry_names_its_source_and_evidence_tag(entry: AdviceItem | Exercise) -> None:
    assert len(entry.source) > 10
    assert entry.evidence_tag in ("C", "S", "U")


@pytest.mark.parametrize("entry", ENTRIES, ids=ENTRY_IDS)
def test_every_patient_text_reads_at_grade_8_or_below(entry: AdviceItem | Exercise) -> None:
    assert fk_grade(readable_text(entry)) <= MAX_GRADE


@pytest.mark.parametrize("entry", ENTRIES, ids=ENTRY_IDS)
def test_no_patient_text_mentions_anything_we_never_recommend(entry: AdviceItem | Exercise) -> None:
    assert [hit for text in entry.patient_texts() for hit in never_recommend_hits(text)] == []


def test_the_visit_page_can_offer_the_posture_findings_of_the_reference() -> None:
    expected = {"forward_lean", "anterior_pelvic_tilt", "flat_back", "prolonged_standing_intolerance"}
    assert expected <= set(LIBRARY.posture_ids())
    assert set(LIBRARY.finding_labels("posture")) == set(LIBRARY.posture_ids())


def test_the_visit_page_can_offer_the_footwear_findings_of_the_reference() -> None:
    assert {"worn_cushioning", "high_heel", "poor_fit"} <= set(LIBRARY.footwear_ids())


def test_general_posture_and_footwear_advice_is_always_given_and_is_not_a_finding() -> None:
    for section, general_id in (("posture", "posture_general"), ("footwear", "footwear_general")):
        general = {item.id: item for item in LIBRARY.items(section)}[general_id]  # type: ignore[arg-type]
        assert general.selected_by == ("always",)
    assert "posture_general" not in LIBRARY.posture_ids()
    assert "footwear_general" not in LIBRARY.footwear_ids()


def test_the_exercise_table_of_the_reference_is_complete_with_its_flexion_flags() -> None:
    flexion_friendly = {exercise.id: exercise.flexion_friendly for exercise in LIBRARY.exercises}
    assert flexion_friendly == {
        "pelvic_tilt": True,
        "knee_to_chest": True,
        "bridge": False,
        "bird_dog": False,
        "plank": False,
        "open_book": False,
        "exercise_bike": True,
    }


def test_the_safety_net_covers_the_five_themes_and_the_cancer_one_only_with_a_history() -> None:
    by_id = {item.id: item for item in LIBRARY.safety_net}
    themes = ["safety_net_emergency", "safety_net_collapse", "safety_net_same_day", "safety_net_cancer"]
    assert set(themes + ["safety_net_review"]) <= set(by_id)
    assert by_id["safety_net_cancer"].selected_by == ("history:cancer",)
    assert all(by_id[theme].selected_by == ("always",) for theme in themes if theme != "safety_net_cancer")


def test_safety_net_services_come_from_settings_never_from_the_text() -> None:
    raw = " ".join(text for item in LIBRARY.safety_net for text in item.patient_texts())
    for name in PLACEHOLDERS:
        assert "{" + name + "}" in raw
    assert not re.search(r"\b(999|111|A&E)\b", raw)


# --- The readability and never-recommend checks can fail -------------------------------------------


def test_syllables_are_counted_for_short_and_long_words() -> None:
    assert [syllables(word) for word in ("walk", "walking", "every", "emergency")] == [1, 2, 3, 4]


def test_plain_short_sentences_score_a_low_grade() -> None:
    assert fk_grade("Walk a bit each day. Rest when you need to. Then walk on.") < 3


def test_long_technical_sentences_score_above_the_ceiling() -> None:
    text = (
        "Neurogenic claudication secondary to degenerative lumbar spinal stenosis characteristically "
        "improves with flexion-biased positioning, which increases the cross-sectional canal area."
    )
    assert fk_grade(text) > MAX_GRADE


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("A back brace may help.", "belt or corset"),
        ("Try insoles in your shoes.", "orthotics or insoles"),
        ("Rocker soles can help.", "rocker-sole shoes"),
        ("A TENS machine eases pain.", "TENS or PENS"),
        ("Take paracetamol.", "paracetamol"),
        ("Ask for painkillers.", "drug advice"),
        ("You may need an MRI scan.", "imaging"),
        ("Stay in bed for two days.", "bed rest"),
        ("Use a walking stick to go further.", "walking stick"),
        ("Keep a good posture.", "one correct posture"),
        ("Your shoes are what caused the pain.", "posture or footwear causes pain"),
    ],
)
def test_never_recommend_terms_are_found(text: str, label: str) -> None:
    assert label in never_recommend_hits(text)


def test_ordinary_words_that_look_like_terms_are_not_flagged() -> None:
    assert never_recommend_hits("Ten pens. Tense muscles. Bend your knees. Rest on a chair.") == []


# --- Invalid library files fail clearly --------------------------------------------------------------


def test_a_missing_source_is_refused_naming_the_file_and_entry(tmp_path: Path) -> None:
    directory = copy_library(tmp_path)
    replace_in(
        directory / "footwear.yaml", "    source: Clinical-reference §8.4 plan theme (comfort advice)\n", ""
    )
    with pytest.raises(LibraryError, match=r"footwear\.yaml: footwear\[1\]\.source"):
        load_library(directory)


def test_a_duplicate_id_is_refused(tmp_path: Path) -> None:
    directory = copy_library(tmp_path)
    replace_in(directory / "core.yaml", "id: pain_not_damage", "id: back_pain_common")
    with pytest.raises(LibraryError, match="back_pain_common.*used twice"):
        load_library(directory)


def test_an_unknown_selector_is_refused(tmp_path: Path) -> None:
    directory = copy_library(tmp_path)
    replace_in(directory / "core.yaml", '["startback:low"]', '["startback:lowish"]')
    with pytest.raises(LibraryError, match=r"core\.yaml: core\[3\]\.selected_by.*startback"):
        load_library(directory)


def test_a_posture_selector_must_name_a_posture_item(tmp_path: Path) -> None:
    directory = copy_library(tmp_path)
    replace_in(directory / "walking.yaml", '["claudication:neurogenic"]', '["posture:slouching"]')
    with pytest.raises(LibraryError, match="posture:slouching.*names no posture item"):
        load_library(directory)


def test_an_unknown_placeholder_is_refused(tmp_path: Path) -> None:
    directory = copy_library(tmp_path)
    replace_in(directory / "safety_net.yaml", "day from {urgent_advice}", "day from {gp_phone}")
    with pytest.raises(LibraryError, match="unknown placeholder 'gp_phone'"):
        load_library(directory)


def test_an_unknown_pictogram_is_refused(tmp_path: Path) -> None:
    directory = copy_library(tmp_path)
    replace_in(directory / "exercises.yaml", "pictogram: plank", "pictogram: handstand")
    with pytest.raises(LibraryError, match=r"exercises\[4\]\.pictogram: unknown pictogram"):
        load_library(directory)


def test_broken_yaml_is_refused_naming_the_file(tmp_path: Path) -> None:
    directory = copy_library(tmp_path)
    (directory / "flare_up.yaml").write_text("flare_up: [unclosed\n", encoding="utf-8")
    with pytest.raises(LibraryError, match=r"flare_up\.yaml: not valid YAML"):
        load_library(directory)


def test_a_section_in_two_files_is_refused(tmp_path: Path) -> None:
    directory = copy_library(tmp_path)
    shutil.copy(directory / "core.yaml", directory / "more_core.yaml")
    with pytest.raises(LibraryError, match="section 'core' is also in core.yaml"):
        load_library(directory)


def test_a_missing_library_is_refused(tmp_path: Path) -> None:
    with pytest.raises(LibraryError, match="not found"):
        load_library(tmp_path / "nowhere")
    with pytest.raises(LibraryError, match="no .yaml files"):
        load_library(tmp_path)
