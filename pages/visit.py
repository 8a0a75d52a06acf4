"""Visit: record or correct a visit. Widgets only; what they show and the save are dashboard.visit_views.

Each section of the form is an st.fragment: a field edit reruns its own section and the summary at the
foot (derived values, next review, confirmations, the live CES warning), never the whole form. The one
Save button sits outside the sections and saves in its callback (visit_views.save_clicked), so a field
edit arriving with the click cannot pre-empt the save; the page then reruns in full to show the result.
"""

import datetime as dt
from collections.abc import Sequence
from typing import Any

import streamlit as st

from dashboard import auth, page_text, services, visit_views
from dashboard.page_context import page_context, remember_patient
from dashboard.page_keys import Visit as Keys
from dashboard.ports import StrideError
from dashboard.safe_text import md_escape
from dashboard.summaries import WALK_TEST_FIELDS
from dashboard.visit_fields import FORM_FIELDS, PSFS_ROWS, PSFS_SECTION, QUESTIONNAIRES, Questionnaire, reruns
from dashboard.visit_form import (
    SCREENING_GROUPS,
    error_message,
    field_label,
    group_negative,
    walking_metric_hint,
    walking_time_warnings,
)
from dashboard.walking import WALKING_SYMPTOM_FIELDS

# A deep link as the very first request after a restart can run this script before the router
# (Streamlit's pages/ fallback); send it through app.py, which holds the login gate.
if (ctx := page_context(st.session_state, st.query_params)) is None:
    st.switch_page("app.py")
    st.stop()
store, user, settings, library = ctx.store, ctx.user, ctx.settings, ctx.library_loader
K = Keys.PREFIX  # every widget of this form lives under this prefix in session state

if not ctx.patient_id:
    st.info("Choose a patient first.")
    st.page_link("pages/patients.py", label="Choose a patient", icon="🧑")
    st.stop()
if not auth.can(user.role, "write_clinical"):
    st.warning("Your role can read records but not record visits.")
    st.stop()
try:
    form = visit_views.open_visit(store, user, ctx.patient_id, st.session_state)
except StrideError as exc:
    st.error(md_escape(str(exc)))
    st.stop()
remember_patient(st.session_state, st.query_params, ctx.patient_id)  # F5 on this page keeps the patient
st.session_state.pop(Keys.SAVE_CLICKED, None)  # this full run shows what a click on Save did
patient, correcting = form.patient, form.correcting
if (episode := form.discharged) is not None:
    st.title(md_escape(f"Visit · {patient.display_name}"))
    st.info(
        f"{md_escape(patient.display_name)} was discharged on {page_text.day(episode.discharge_date)}. "
        "A new referral opens a new episode: re-refer them on the Progress page, then record the visit."
    )
    st.page_link("pages/progress.py", label="Open Progress to re-refer", icon="📈")
    st.stop()


def rerun(sections: list[str]) -> Any:
    # A field's edit reruns its section and the sections that show what it changes (visit_fields.reruns).
    return lambda: st.rerun(sections)


def err(*fields: str) -> None:
    for name in fields:
        if name in (errors := st.session_state.get(Keys.ERRORS, {})):
            st.error(md_escape(error_message(name, errors[name])), icon="⛔")


def mark(name: str, where: Any = st) -> None:
    # Under a field: the check-in's value it pre-filled, or what the patient said to the question (§12.1).
    if caption := visit_views.field_caption(form.reported, name):
        where.caption(caption)


def field(name: str, where: Any = st) -> Any:
    spec = FORM_FIELDS[name]
    shown: dict[str, Any] = {"key": K + name, "help": spec.help, "on_change": rerun(spec.reruns())}
    shown["label_visibility"] = "collapsed" if spec.collapsed else "visible"
    if spec.kind == "number":
        value = where.number_input(
            spec.label, value=None, step=spec.step, placeholder=spec.placeholder, **shown
        )
    elif spec.kind == "select":  # Streamlit shows a None value as the placeholder: it carries None's words
        shown["placeholder"] = spec.options.get(None, "Choose")
        value = where.selectbox(spec.label, list(spec.options), format_func=spec.options.__getitem__, **shown)
    elif spec.kind == "segmented":
        options = [value for value in spec.options if value is not None]
        value = where.segmented_control(spec.label, options, format_func=spec.options.__getitem__, **shown)
    elif spec.kind == "date":
        value = where.date_input(spec.label, None, *page_text.ANY_DATE, format="YYYY-MM-DD", **shown)
    elif spec.kind in ("text", "area"):
        text = where.text_input if spec.kind == "text" else where.text_area
        value = text(spec.label, placeholder=spec.placeholder, **shown)
    else:
        value = where.checkbox(spec.label, **shown)
    mark(name, where)
    return value


def grid(names: Sequence[str], per_row: int) -> None:
    # Row by row, so the keyboard and a screen reader meet the fields in the order they are seen, and a
    # narrow screen stacks them in that order.
    for start in range(0, len(names), per_row):
        for col, name in zip(st.columns(per_row), names[start : start + per_row], strict=False):
            field(name, col)


def draw(box: visit_views.ScreeningBox) -> None:
    getattr(st, box.level)(box.headline)
    for line in box.lines:
        st.markdown(f"- {line}")
    if box.ask_now:
        st.warning(box.ask_now)
    for caption in box.captions:
        st.caption(caption)


def set_group_negative(group: str) -> None:
    # Returns normally: the click reruns its group only (the values it sets are drawn there). A keyed or
    # full rerun from here made Streamlit run twice, and a quick next click in between sent the
    # browser's old answers back over these (the browser journey lost a group). The warning above the
    # save button catches up at the next edit.
    st.session_state.update(group_negative(group, K))


st.title(md_escape(f"{form.title} · {patient.display_name}"))
st.caption(f"{md_escape(patient.patient_ref)} · age {patient.age_years(dt.date.today())}")
saved, toast = visit_views.take_saved_result(st.session_state)
if toast is not None:
    st.toast(toast, icon="✅")


@st.dialog("EMERGENCY: result of the visit just saved", width="large", dismissible=False)
def save_result_dialog(screening: Any) -> None:
    draw(visit_views.result_box(screening))
    if st.button("I have read the result", type="primary", key=Keys.RESULT_ACK):
        st.session_state.pop(Keys.RESULT_TO_ACK, None)
        st.rerun()


if (to_ack := st.session_state.get(Keys.RESULT_TO_ACK)) is not None:
    save_result_dialog(to_ack)
if (box := visit_views.screening_box(store, form, saved)) is not None:
    with st.container(border=True):
        if box.saved:
            st.success("Visit saved.")
        draw(box)
if form.carried_from:
    st.info(visit_views.carried_notice(form.carried_from, st.session_state.get(Keys.CARRIED_ITEMS, [])))
if form.reported is not None:
    st.info(visit_views.reported_notice(form.reported), icon=":material/record_voice_over:")


@st.fragment(key=Keys.PAIN_SECTION)
def pain_section() -> None:
    field("visit_date")
    err("visit_date")
    st.subheader("1 · Pain")
    grid(("pain_nrs", "pain_worst_nrs"), 2)
    err("pain_nrs", "pain_worst_nrs")


@st.fragment(key=Keys.WALKING_SECTION)
def walking_section() -> None:
    st.subheader("2 · Walking tolerance")
    protocol = field("walk_protocol")
    if form.carried_from and protocol and not visit_views.field_caption(form.reported, "walk_protocol"):
        st.caption(f"Protocol from {form.carried_from}")
    if cap := visit_views.protocol_cap_caption(protocol):
        st.caption(cap)
    grid(WALK_TEST_FIELDS[1:5], 2)  # four abreast clip a typed "12.5" behind the buttons at 1024 px
    field("walk_stop_reason")
    typed = st.session_state.to_dict()
    if hint := walking_metric_hint(typed, K):
        st.info(hint, icon=":material/straighten:")
    for warning in walking_time_warnings(typed, K):
        st.warning(md_escape(warning), icon=":material/timer:")
    err(*WALK_TEST_FIELDS)


@st.fragment(key=Keys.SYMPTOMS_SECTION)
def symptoms_section() -> None:
    st.subheader("3 · Walking symptoms")
    grid((*WALKING_SYMPTOM_FIELDS, "pedal_pulses"), 3)


def screening_group(group: str, spec: dict[str, Any]) -> None:
    with st.container(border=True):
        head, button = st.columns([4, 2])
        head.markdown(f"**{spec['title']}**")
        button.button(
            "Asked: all negative",
            key=f"{K}neg_{group}",
            on_click=set_group_negative,
            args=(group,),
            help="Sets every question in this group to its negative answer; each stays editable.",
        )
        grid(list(spec["fields"]), 3)
        grid(spec.get("measurements", ()), 3)
        err(*spec["fields"], *spec.get("measurements", ()))
        # Drawn above the save button too (the closing section).
        if group == "ces" and (warning := visit_views.ces_warning(st.session_state.to_dict())):
            st.error(warning, icon=None)


def questionnaire(layout: Questionnaire) -> None:
    with st.expander(layout.title, expanded=layout.open_at_first_visit and not form.previous):
        mark(layout.visit_field)
        for name in layout.lead:
            field(name)
        grid(layout.items[:-1] if layout.wide_last else layout.items, layout.per_row)
        if layout.wide_last:
            field(layout.items[-1])
        if layout.caption:
            st.caption(layout.caption)
    err(layout.visit_field)


@st.fragment(key=PSFS_SECTION)
def psfs_section() -> None:
    st.markdown("**Patient-Specific Functional Scale** (0 = cannot do, 10 = as before)")
    for i in range(PSFS_ROWS):
        c1, c2 = st.columns([3, 1])
        activity = field(f"psfs_activity_{i}", c1)
        field(f"psfs_score_{i}", c2)
        if caption := visit_views.reported_psfs_caption(form.reported, activity or ""):
            c1.caption(caption)
    err("psfs")


@st.fragment(key=Keys.FINDINGS_SECTION)
def findings_section() -> None:
    st.subheader("6 · Posture and footwear")
    c1, c2 = st.columns(2)
    posture, footwear = visit_views.finding_labels(library)
    for col, name, labels in ((c1, "posture_findings", posture), (c2, "footwear_findings", footwear)):
        options = visit_views.finding_options(labels, st.session_state.get(K + name, []))
        words = {option: labels.get(option, option) for option in options}  # a retired finding: its id
        col.multiselect(
            field_label(name),
            options,
            key=K + name,
            format_func=words.__getitem__,
            on_change=rerun(reruns(Keys.FINDINGS_SECTION, derived=False)),
        )
    field("notes")
    err("notes")


@st.fragment(key=Keys.DERIVED_SECTION)
def derived_section() -> None:
    st.subheader("Derived values")
    with st.container(border=True):
        shown = visit_views.summary(st.session_state.to_dict(), form, dt.datetime.now(dt.UTC))
        for col, metric in zip(st.columns(4), shown.metrics, strict=True):
            col.metric(metric.label, metric.value, metric.delta, delta_color="off")
        for caption in shown.captions:
            st.caption(caption)
        if shown.table:  # a static HTML table: screen readers can read it (st.dataframe draws on a canvas)
            st.table(shown.table, border="horizontal", hide_index=True)
        if shown.note:
            st.info(shown.note)


@st.fragment(key=Keys.CLOSING_SECTION)
def closing_section() -> None:
    # Every field's edit reruns this section: it does for the edit what the router does on a full run.
    if st.session_state.get(Keys.SAVE_CLICKED):
        st.rerun()  # a save just happened in the click's callback: the full run shows its result
    if not visit_views.section_run(st.session_state, store, user, settings, dt.datetime.now(dt.UTC)):
        st.rerun()  # the router ends the session, as on any full run
    if not correcting:
        field("next_review_date")
        err("next_review_date")
    st.divider()
    confirm = rerun([Keys.CLOSING_SECTION])
    if form.carried_from:
        label = f"Confirm carried-forward items (from {form.carried_from})"
        st.checkbox(label, key=Keys.CONFIRM_CARRIED, on_change=confirm)
        err("confirm_carried")
    if not correcting and visit_views.reported_to_confirm(st.session_state.to_dict()):
        st.checkbox(visit_views.CONFIRM_REPORTED_LABEL, key=Keys.CONFIRM_REPORTED, on_change=confirm)
        err("confirm_reported")
    if correcting:
        field("reason")
    # Drawn under the cauda equina questions too; here it is above the save button.
    if warning := visit_views.ces_warning(st.session_state.to_dict()):
        st.error(warning, icon=None)


pain_section()
walking_section()
symptoms_section()
st.subheader("4 · Neurology and red-flag screen")
st.caption(visit_views.SCREENING_CAPTION)
for group, spec in SCREENING_GROUPS.items():
    st.fragment(screening_group, key=Keys.SCREENING_SECTION + group)(group, spec)
st.subheader("5 · Questionnaires")
st.caption(visit_views.QUESTIONNAIRES_CAPTION)
if off := visit_views.instruments_off(form.enabled):
    st.caption(off)
for layout in QUESTIONNAIRES:
    if layout.instrument in form.enabled:
        st.fragment(questionnaire, key=layout.section)(layout)
psfs_section()
findings_section()
derived_section()
closing_section()
# Saved in the click's callback, before the run: a field's section rerun arriving with the click (a
# value typed, then Save at once) pre-empts the click's full run, and a save made below would be lost.
st.button(
    "Save correction" if correcting else "Save visit",
    type="primary",
    key=Keys.SAVE,
    on_click=lambda: visit_views.save_clicked(
        store, user, settings, form, st.session_state, dt.datetime.now(dt.UTC)
    ),
)
if refusal := st.session_state.pop(Keys.SAVE_REFUSAL, None):
    st.error(md_escape(refusal))
if errors := st.session_state.get(Keys.ERRORS):
    st.error("Nothing was saved. Correct the fields marked ⛔ above.")
    if "_" in errors:  # a refusal that belongs to no one field
        st.error(md_escape(errors["_"]), icon="⛔")

if correcting:
    history = services.visit_history(store, user, correcting.saved_id)
    with st.expander(f"History of this visit ({len(history)} changes)"):
        st.json(correcting.clinical_dict(), expanded=False)
        for rev in history:
            st.markdown(visit_views.revision_line(rev))
            st.json({"before": rev.before, "after": rev.after}, expanded=False)
