import logging
import time

import streamlit as st
from pydantic import ValidationError

from dashboard import auth, governance, page_text, red_flags, services
from dashboard.config import Settings
from dashboard.languages import language_label
from dashboard.models import field_errors
from dashboard.plan import (
    ADVICE_SECTIONS,
    PLACEHOLDERS,
    SAFETY_FIRST_TIERS,
    SECTION_HEADINGS,
    Plan,
    build_plan,
    escalation_warnings,
    never_recommend_hits,
)
from dashboard.ports import Store, StrideError, User
from dashboard.presenters import TIER_ICON
from dashboard.safe_text import md_escape
from dashboard.visit_form import error_message
from reports import handout, i18n

# A deep link as the very first request after a restart can run this script before the router
# (Streamlit's pages/ fallback); send it through app.py, which holds the login gate.
if "store" not in st.session_state:
    st.switch_page("app.py")

log = logging.getLogger("stride")
store: Store = st.session_state["store"]
user: User = st.session_state["user"]
settings: Settings = st.session_state["settings"]
can_give = auth.can(user.role, "handout")
K = "plan_"  # every widget of this page lives under this prefix in session state
START_BOUT_MIN, START_BOUT_MAX = 0.5, 180.0
PLAN_LABELS = {"personal_note": "A personal note for the patient", "exercises": "Exercise dose"}

st.title("Plan & handout")

patient_id: str = st.query_params.get("patient") or st.session_state.get("patient_id") or ""
if not patient_id:
    st.info("No patient is chosen yet. Choose a patient to review their plan and print the handout.")
    st.page_link("pages/patients.py", label="Choose a patient", icon="🧑")
    st.stop()

first_open = st.session_state.get(f"{K}audited") != patient_id
try:
    record = services.open_patient(store, user, patient_id, audit=first_open)
except StrideError as exc:
    st.error(md_escape(str(exc)))
    st.page_link("pages/patients.py", label="Choose a patient", icon="🧑")
    st.stop()
st.session_state["patient_id"] = patient_id
if st.query_params.get("patient") != patient_id:
    st.query_params["patient"] = patient_id
# A new patient starts with a fresh review: drop the previous patient's ticks, doses and note.
if st.session_state.get(f"{K}audited") != patient_id:
    for key in [k for k in st.session_state if str(k).startswith(K)]:
        del st.session_state[key]
    st.session_state[f"{K}audited"] = patient_id

patient = record.patient
st.subheader(md_escape(f"{patient.display_name} · ref {patient.patient_ref}"))

if not record.visits:
    st.info("A plan is built from the findings of a visit. Record a visit first.")
    st.page_link("pages/visit.py", label="Record a visit", icon="📝")
    st.stop()

# Open escalations first: a plan must never be printed as if all were well (issue 19).
for warning in escalation_warnings(record.escalations, settings):
    show = st.error if warning.tier == "EMERGENCY" else st.warning if warning.tier == "URGENT" else st.info
    show(
        f"**Open {warning.tier} escalation** ({md_escape(warning.rule_id)}): "
        f"{md_escape(warning.rule_words)}. Reason: {md_escape(warning.reason)}."
        + (
            " The handout leads with the safety net and leaves the reassurance out. "
            "Act on the escalation first (Flags page)."
            if warning.tier in SAFETY_FIRST_TIERS
            else ""
        ),
        icon=TIER_ICON[warning.tier],
    )

try:
    library = st.session_state["library_loader"]()
except Exception as exc:  # a broken library file: say so plainly, never a traceback
    log.error("advice library could not be loaded: %s", type(exc).__name__)
    st.error(
        "The advice library could not be loaded, so no plan can be built. Ask an administrator to check it."
    )
    st.stop()

try:
    plan = build_plan(
        patient,
        record.visits,
        library,
        settings=settings,
        clinician_name=user.display_name,
        escalations=record.escalations,
    )
    start_needed = plan.needs_start_bout
    if start_needed:
        st.warning(
            "There is no walking test or reported walking time to start the walking programme from. "
            "Enter the length of the first walks."
        )
        start_bout = st.number_input(
            "Starting walk length (minutes)",
            value=None,
            step=0.5,
            placeholder="e.g. 5",
            key=f"{K}start_bout",
            help="A walk the patient can manage with mild symptoms at most; the programme builds up from it.",
        )
        # Checked here rather than by the widget, which would drop an out-of-range entry unseen (issue 19).
        if start_bout is not None and not START_BOUT_MIN <= start_bout <= START_BOUT_MAX:
            st.error(
                f"Starting walk length (minutes) must be between {START_BOUT_MIN:g} and {START_BOUT_MAX:g}.",
                icon="⛔",
            )
            start_bout = None
        if start_bout:
            plan = build_plan(
                patient,
                record.visits,
                library,
                settings=settings,
                clinician_name=user.display_name,
                start_bout_min=float(start_bout),
                escalations=record.escalations,
            )
except ValueError as exc:
    st.error(f"The plan could not be built: {md_escape(exc)}")
    st.stop()

with st.expander("Why these items were chosen", expanded=False):
    for line in plan.summary:
        st.markdown(f"- {md_escape(line)}")
    st.caption(
        f"Advice library version {library.version}. Decision support: review every item before printing."
    )

review, preview = st.columns([3, 2], gap="large")

# --- review --------------------------------------------------------------------------------------
with review:
    st.markdown("### Review")
    st.caption(
        "Untick what does not fit this patient; edit exercise doses. The safety-net box is always printed."
    )
    sections = {}
    for section in ADVICE_SECTIONS:
        items = plan.section(section)
        if not items:
            continue
        st.markdown(f"**{SECTION_HEADINGS[section]}**")
        kept = []
        for item in items:
            always = section == "safety_net"
            include = st.checkbox(
                item.title,
                value=True,
                key=f"{K}inc_{item.id}",
                disabled=always or not can_give,
            )
            # Streamlit keeps a checkbox label to one line and cuts it short: a long title is repeated
            # in full below it. "Always printed" is said in words; the bullets are a list, as in the handout.
            lead = f"**{md_escape(item.title)}**. " if len(item.title) > 50 else ""
            lead += "Always printed (clinical-reference §6). " if always else ""
            st.caption("\n".join([lead + item.text, *(f"- {line}" for line in item.bullets)]))
            if include or always:
                kept.append(item)
        sections[section] = kept
        if section == "walking" and plan.walking_programme:
            programme = page_text.programme_frame(plan)
            # Every week without an inner scroll bar (35 px a row plus the header).
            height = 35 * (len(programme) + 1) + 3
            st.dataframe(programme, hide_index=True, key=f"{K}programme", height=height)

    exercises = []
    if plan.exercises:
        st.markdown(f"**{SECTION_HEADINGS['exercises']}**")
    for exercise in plan.exercises:
        include = st.checkbox(exercise.name, value=True, key=f"{K}inc_{exercise.id}", disabled=not can_give)
        st.caption(exercise.purpose)
        # Full width: a dose is a sentence and was cut short beside the checkbox.
        dose = st.text_input(
            f"Dose: {exercise.name}",
            value=exercise.dose,
            key=f"{K}dose_{exercise.id}",
            disabled=not (can_give and include),
            label_visibility="collapsed",
        )
        if include:
            exercises.append(exercise.model_copy(update={"dose": dose.strip()}))

    note = st.text_area(
        "A personal note for the patient (optional)",
        key=f"{K}note",
        disabled=not can_give,
        placeholder="Plain words, printed under “A note from your physio”.",
    )
    hits = never_recommend_hits(note)
    if hits:
        st.warning(
            "The note mentions something the plan should never recommend: "
            + ", ".join(hits)
            + ". Reword it unless you are advising against it."
        )
    large_print = st.toggle("Large print", key=f"{K}large_print", disabled=not can_give)

try:
    edited = Plan.model_validate(
        {
            **plan.model_dump(),
            "sections": {key: [item.model_dump() for item in kept] for key, kept in sections.items()},
            "exercises": [exercise.model_dump() for exercise in exercises],
            "personal_note": note.strip(),
        }
    )
except ValidationError as exc:
    with review:
        for field, message in field_errors(exc).items():
            st.error(md_escape(error_message(field, message, PLAN_LABELS)), icon="⛔")
    st.stop()

# --- the handout's language (clinical-reference §14) ---------------------------------------------
language = patient.language
translation = None
bilingual = False
if language != "en":
    translation = i18n.translate_plan(
        edited, library, language, {name: getattr(settings, name) for name in PLACEHOLDERS}
    )
with preview:
    st.markdown("### Preview and handout")
    if language != "en" and translation is None:
        st.warning(
            f"There is no {md_escape(language_label(language))} translation of the handout yet, "
            "so the handout is printed in English."
        )
    elif translation is not None:
        review_record = governance.translation_review(
            store, translation.language, translation.catalogue_version
        )
        options = [translation.language, "en"]
        if translation.missing:
            shown = "; ".join(f"“{text[:80]}”" for text in translation.missing[:3])
            st.warning(
                f"{len(translation.missing)} sentence(s) have no {md_escape(language_label(language))} "
                f"translation (edited text stays in English): {md_escape(shown)}. "
                "Print in English, or check these lines with the patient."
            )
        if review_record is None:
            st.info(
                f"The {md_escape(language_label(language))} translation is awaiting clinical review: "
                "every page says so, and the English safety net is printed in full after it."
            )
        chosen = st.radio(
            "Handout language",
            options,
            format_func=language_label,
            horizontal=True,
            key=f"{K}language",
            disabled=not can_give,
        )
        if chosen == "en":
            translation = None
        else:
            # §14: until the translation is reviewed it is printed only beside the English.
            bilingual = (
                st.checkbox(
                    "Bilingual layout (English above each paragraph)",
                    value=True,
                    key=f"{K}bilingual",
                    disabled=not can_give or review_record is None,
                    help="Always on while the translation awaits clinical review.",
                )
                or review_record is None
            )
    printed_language = translation.language if translation is not None else "en"
    printed_plan = translation.plan if translation is not None else edited
    if unprintable := handout.missing_letters(printed_plan, printed_language):
        st.warning(
            "No font on this server can print these letters of the name or note: "
            + md_escape(" ".join(sorted(unprintable)))
            + ". Check the printed handout, or install the fallback fonts (see README)."
        )
    if can_give:
        rule_set = red_flags.rule_set_version(settings.rules)
        plan_to_give, pdf_large, english, side_by_side = printed_plan, large_print, edited, bilingual
        given_translation = translation
        reviewed = (
            governance.translation_review(store, translation.language, translation.catalogue_version)
            if translation is not None
            else None
        )

        def handout_pdf() -> bytes:
            # Runs at the click: the exact bytes given are stored with the plan JSON and audited.
            unreviewed = given_translation is not None and reviewed is None
            pdf = handout.render(
                plan_to_give,
                large_print=pdf_large,
                language=printed_language,
                english_safety_net=english.safety_net if unreviewed and not side_by_side else (),
                review_note=unreviewed,
                bilingual_with=english if side_by_side else None,
            )
            provenance = {
                "language": printed_language,
                "catalogue_version": given_translation.catalogue_version if given_translation else None,
                "translation_review": (
                    None
                    if given_translation is None
                    else "awaiting clinical review"
                    if reviewed is None
                    else f"reviewed, recorded by {reviewed.by_name} on {reviewed.at:%Y-%m-%d}"
                ),
                "untranslated": list(given_translation.missing) if given_translation else [],
                "layout": "bilingual" if side_by_side and given_translation else "single language",
            }
            services.record_handout(
                store,
                user,
                patient_id,
                pdf=pdf,
                plan={**plan_to_give.model_dump(mode="json"), "handout_language": provenance},
                rule_set_version=rule_set,
                library_version=library.version,
            )
            return pdf

        downloaded = st.download_button(
            "Download the handout (PDF)",
            data=handout_pdf,
            file_name=f"stride-plan-{edited.plan_date:%Y-%m-%d}.pdf",
            mime="application/pdf",
            key=f"{K}download",
            type="primary",
            icon="📄",
            help="The PDF, the plan and their hash are stored with this patient's record when you download.",
        )
    else:
        downloaded = False
        st.caption("Your role can view the plan but not give handouts.")
    if plan.needs_start_bout and not edited.walking_programme:
        st.caption("The walking programme is left out until a starting walk length is entered.")
    with st.container(border=True, height=900, key=f"{K}preview"):
        st.markdown(page_text.plan_markdown(edited))

    st.markdown("### Handouts given")
    # The PDF is rendered and recorded on another thread while this rerun starts: wait for it briefly,
    # so the new handout is listed (compared with the count shown on the previous run).
    handouts = record.handouts
    shown_before = st.session_state.get(f"{K}handout_count", len(handouts))
    if downloaded and len(handouts) <= shown_before:
        with st.spinner("Recording the handout…"):
            deadline = time.monotonic() + 8
            while len(handouts) <= shown_before and time.monotonic() < deadline:
                time.sleep(0.25)
                try:
                    handouts = services.open_patient(store, user, patient_id, audit=False).handouts
                except StrideError:
                    break
        if len(handouts) <= shown_before:
            st.caption("The handout is still being recorded; it will be listed here shortly.")
    st.session_state[f"{K}handout_count"] = len(handouts)
    given = page_text.handout_rows(handouts, settings.timezone)
    if not given:
        st.caption("No handout has been given to this patient yet.")
    stored = {h.id: h for h in handouts}
    for row in given:
        c1, c2 = st.columns([3, 1], vertical_alignment="center")
        c1.markdown(f"{row['given']} · {md_escape(row['clinician'])} · `sha256 {row['sha256']}`")
        if auth.can(user.role, "export_patient"):

            def stored_pdf(pdf: bytes = stored[row["id"]].pdf) -> bytes:
                # The stored bytes exactly as given; the copy is audited like any export.
                services.record_export(store, user, "handout_copy", patient_id=patient_id)
                return pdf

            c2.download_button(
                "PDF",
                icon="⬇️",
                data=stored_pdf,
                file_name=f"stride-plan-{row['date']}-{row['sha256'][:8]}.pdf",
                mime="application/pdf",
                key=f"{K}given_{row['id']}",
                on_click="ignore",
                help="The stored PDF, exactly as it was given.",
            )
