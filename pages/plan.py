import functools

import streamlit as st

from dashboard import auth, page_text, plan_page, red_flags, services
from dashboard import page_keys as keys
from dashboard.handout_language import choose_handout, font_note, language_notes, language_options, review_of
from dashboard.languages import language_label
from dashboard.page_context import page_context, remember_patient
from dashboard.page_keys import Plan as K
from dashboard.plan import ADVICE_SECTIONS, SECTION_HEADINGS
from dashboard.safe_text import md_escape
from reports import handout, handout_web, i18n

# A deep link as the very first request after a restart can run this script before the router
# (Streamlit's pages/ fallback); send it through app.py, which holds the login gate.
if (ctx := page_context(st.session_state, st.query_params)) is None:
    st.switch_page("app.py")
    st.stop()
store, user, settings, patient_id = ctx.store, ctx.user, ctx.settings, ctx.patient_id
can_give = auth.can(user.role, "handout")
SHOW = {"error": st.error, "warning": st.warning, "info": st.info}

st.title("Plan & handout")
opened = plan_page.open_record(store, user, st.session_state, patient_id)
if not isinstance(opened, services.PatientRecord):
    SHOW[opened[0]](opened[1])
    st.page_link("pages/patients.py", label="Choose a patient", icon="🧑")
    st.stop()
record, patient, patient_id = opened, opened.patient, opened.patient.saved_id
remember_patient(st.session_state, st.query_params, patient_id)
st.subheader(md_escape(f"{patient.display_name} · ref {patient.patient_ref}"))
if not record.visits:
    st.info("A plan is built from the findings of a visit. Record a visit first.")
    st.page_link("pages/visit.py", label="Record a visit", icon="📝")
    st.stop()

# Open escalations first: a plan must never be printed as if all were well (issue 19).
for kind, text, icon in plan_page.escalation_notices(record, settings):
    SHOW[kind](text, icon=icon)
if (library := plan_page.load_library(ctx.library)) is None:
    st.error(plan_page.NO_LIBRARY)
    st.stop()
build = functools.partial(plan_page.plan_for, record, library, settings, user.display_name)
try:
    plan = build()
    if plan.needs_start_bout:
        st.warning(plan_page.NO_START_BOUT)
        start_bout, problem = plan_page.checked_start_bout(st.number_input(**plan_page.START_BOUT_INPUT))
        if problem:
            st.error(problem, icon="⛔")
        if start_bout:
            plan = build(start_bout)
except ValueError as exc:
    st.error(f"The plan could not be built: {md_escape(exc)}")
    st.stop()

with st.expander("Why these items were chosen", expanded=False):
    for line in plan.summary:
        st.markdown(f"- {md_escape(line)}")
    st.caption(plan_page.library_caption(library.version))
review, preview = st.columns([3, 2], gap="large")

with review:
    st.markdown("### Review")
    st.caption(plan_page.REVIEW_HINT)
    sections = {}
    for section in ADVICE_SECTIONS:
        if not (items := plan.section(section)):
            continue
        st.markdown(f"**{SECTION_HEADINGS[section]}**")
        always = section == "safety_net"
        kept = []
        for item in items:
            ticked = st.checkbox(item.title, True, key=K.INCLUDE + item.id, disabled=always or not can_give)
            st.caption(plan_page.item_caption(item, always=always))
            if ticked or always:
                kept.append(item)
        sections[section] = kept
        if section == "walking" and plan.walking_programme:
            programme = page_text.programme_frame(plan)
            height = plan_page.programme_height(len(programme))
            st.dataframe(programme, hide_index=True, key=K.PROGRAMME, height=height)
    exercises = []
    if plan.exercises:
        st.markdown(f"**{SECTION_HEADINGS['exercises']}**")
    for exercise in plan.exercises:
        ticked = st.checkbox(exercise.name, True, key=K.INCLUDE + exercise.id, disabled=not can_give)
        st.caption(exercise.purpose)
        # Full width: a dose is a sentence and was cut short beside the checkbox.
        dose = st.text_input(
            f"Dose: {exercise.name}",
            exercise.dose,
            key=K.DOSE + exercise.id,
            disabled=not (can_give and ticked),
            label_visibility="collapsed",
        )
        if ticked:
            exercises.append(exercise.model_copy(update={"dose": dose.strip()}))
    note = st.text_area(**plan_page.NOTE_INPUT, disabled=not can_give)
    if warning_text := plan_page.note_warning(note):
        st.warning(warning_text)
    large_print = st.toggle("Large print", key=K.LARGE_PRINT, disabled=not can_give)
    edited, errors = plan_page.edited_plan(plan, sections, exercises, note)
    for message in errors:
        st.error(md_escape(message), icon="⛔")
if edited is None:
    st.stop()

# --- the handout's language (clinical-reference §14) ---------------------------------------------
translation = plan_page.translation_for(patient.language, edited, library, settings, i18n.translate_plan)
review_record = review_of(store, translation)
with preview:
    st.markdown("### Preview and handout")
    for note_kind, words in language_notes(patient.language, translation, review_record):
        SHOW[note_kind](words)
    chosen, bilingual = "en", False
    if translation is not None:
        options = language_options(translation)
        chosen = st.radio(
            **plan_page.LANGUAGE_CHOICE, options=options, format_func=language_label, disabled=not can_give
        )
        if chosen != "en":
            bilingual = st.checkbox(
                **plan_page.BILINGUAL_CHOICE, disabled=not can_give or review_record is None
            )
    choice = choose_handout(edited, translation, review_record, chosen=chosen, bilingual_ticked=bilingual)
    if unprintable := font_note(handout.missing_letters(choice.plan, choice.language)):
        st.warning(unprintable.text)
    downloaded = False
    if can_give:
        rules = red_flags.rule_set_version(settings.rules)
        give = functools.partial(plan_page.give_handout, store, user, patient_id, choice, handout.render)
        give = functools.partial(
            give, large_print=large_print, rule_set_version=rules, library_version=library.version
        )
        button = plan_page.HANDOUT.button(K.DOWNLOAD, plan_page.handout_file_name(edited.plan_date))
        downloaded = st.download_button(data=give, **button)
    else:
        st.caption("Your role can view the plan but not give handouts.")
    if plan.needs_start_bout and not edited.walking_programme:
        st.caption("The walking programme is left out until a starting walk length is entered.")
    with st.container(border=True, height=900, key=K.PREVIEW):
        st.markdown(page_text.plan_markdown(edited))

    # --- the web version (issue 23): the same plan as accessible HTML --------------------------------
    st.markdown("### Web version")
    st.caption(plan_page.WEB_INTRO)
    web_options = choice.web_options(large_print=large_print)
    if can_give and auth.can(user.role, "export_patient"):
        page = handout_web.render_html(choice.plan, **web_options)
        copy = functools.partial(plan_page.web_copy, store, user, patient_id, page)
        st.download_button(
            data=copy,
            **plan_page.WEB_HANDOUT.button(K.WEB_DOWNLOAD, plan_page.web_file_name(edited.plan_date)),
        )
    with st.expander("Show the web version here", expanded=False, key=K.WEB_PREVIEW):
        # st.html's sanitizer removes inline SVG: the drawings come as <img> of the same SVG.
        st.html(handout_web.render_html(choice.plan, **web_options, inline_svg=False, fragment=True))

    st.markdown("### Handouts given")
    shown_before = st.session_state.get(K.HANDOUT_COUNT, len(record.handouts))
    reload = functools.partial(services.open_patient, store, user, patient_id, audit=False)
    with st.spinner("Recording the handout…", show_time=False):
        handouts, pending = plan_page.handouts_after_click(
            lambda: reload().handouts, record.handouts, shown_before, downloaded
        )
    if pending:
        st.caption("The handout is still being recorded; it will be listed here shortly.")
    st.session_state[K.HANDOUT_COUNT] = len(handouts)
    if not (given := page_text.handout_rows(handouts, settings.timezone)):
        st.caption("No handout has been given to this patient yet.")
    stored = {h.id: h.pdf for h in handouts}
    for row in given:
        c1, c2 = st.columns([3, 1], vertical_alignment="center")
        c1.markdown(f"{row['given']} · {md_escape(row['clinician'])} · `sha256 {row['sha256']}`")
        if auth.can(user.role, "export_patient"):
            copy = functools.partial(plan_page.stored_copy, store, user, patient_id, stored[row["id"]])
            spec = plan_page.STORED_HANDOUT.button(K.GIVEN + row["id"], plan_page.given_file_name(row))
            c2.download_button(data=copy, **spec)

    # --- a plan link: the web version of the last handout on the patient's phone (§12) -------------
    # Made with the patient's other links on the Patients page, where links are shown once and revoked.
    st.markdown(f"### {plan_page.PLAN_LINK_HEADING}")
    st.caption(plan_page.PLAN_LINK_CAPTION)
    if handouts:
        query = {keys.PATIENT_QUERY: patient_id}
        st.page_link("pages/patients.py", label=plan_page.PLAN_LINK_LABEL, icon="📱", query_params=query)
