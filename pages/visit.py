import datetime as dt
from collections.abc import Sequence
from typing import Any

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from dashboard import auth, governance, page_text, report_services, services, visit_views
from dashboard.page_context import page_context
from dashboard.page_keys import CORRECT_VISIT_ID
from dashboard.page_keys import Visit as Keys
from dashboard.ports import InvalidInputError, StrideError
from dashboard.presenters import DECISION_SUPPORT, screening_banner
from dashboard.safe_text import md_escape
from dashboard.summaries import WALK_TEST_FIELDS
from dashboard.visit_form import (
    CHOICES,
    ODI_SECTIONS,
    RMDQ_LABELS,
    SCREENING_GROUPS,
    STARTBACK_LABELS,
    ZCQ_LABELS,
    error_message,
    field_label,
    open_form,
    values_from_form_state,
    walking_metric_hint,
)
from dashboard.walking import WALKING_SYMPTOM_WORDS

# A deep link as the very first request after a restart can run this script before the router
# (Streamlit's pages/ fallback); send it through app.py, which holds the login gate.
if (ctx := page_context(st.session_state, st.query_params)) is None:
    st.switch_page("app.py")
    st.stop()
store, user, settings, patient_id = ctx.store, ctx.user, ctx.settings, ctx.patient_id
K = Keys.PREFIX  # every widget of this form lives under this prefix in session state

if not patient_id:
    st.info("Choose a patient first.")
    st.page_link("pages/patients.py", label="Choose a patient", icon="🧑")
    st.stop()
if not auth.can(user.role, "write_clinical"):
    st.warning("Your role can read records but not record visits.")
    st.stop()
try:
    record = services.open_patient(store, user, patient_id, audit=False)
except StrideError as exc:
    st.error(md_escape(str(exc)))
    st.stop()
patient, visits = record.patient, record.visits
correcting = next((v for v in visits if v.id == st.session_state.get(CORRECT_VISIT_ID)), None)
episode = record.current_episode
if episode is not None and not episode.is_open and correcting is None:
    # A discharged episode takes no new visits (§11.1); correcting one of its visits still works.
    st.title(md_escape(f"Visit · {patient.display_name}"))
    st.info(
        f"{md_escape(patient.display_name)} was discharged on {page_text.day(episode.discharge_date)}. "
        "A new referral opens a new episode: re-refer them on the Progress page, then record the visit."
    )
    st.page_link("pages/progress.py", label="Open Progress to re-refer", icon="📈")
    st.stop()
previous = visits[-1] if visits and correcting is None else None
# A new visit reviews the patient's latest check-in of this episode not yet reviewed (§12.1).
pending = None if correcting else report_services.pending_report(store, user, patient.saved_id)
open_form(st.session_state, patient, correcting, previous, pending)
reported = None if correcting else st.session_state.get(Keys.REPORT)  # the check-in this form shows

errors: dict[str, str] = st.session_state.get(Keys.ERRORS, {})
carried_from = st.session_state.get(Keys.CARRIED_FROM) if not correcting else None


def err(*fields: str) -> None:
    for field in fields:
        if field in errors:
            st.error(md_escape(error_message(field, errors[field])), icon="⛔")


def choice(label: str, field: str, container: Any = st, **kwargs: Any) -> Any:
    options = CHOICES[field]
    # Streamlit shows a None value as the placeholder, so the placeholder carries the None label.
    return container.selectbox(
        label,
        list(options),
        format_func=lambda v: options[v],
        key=K + field,
        placeholder=options.get(None, "Choose"),
        **kwargs,
    )


def reported_mark(field: str, container: Any = st) -> None:
    # Under a field the patient's check-in pre-filled: the date and the patient's value.
    if mark := visit_views.reported_caption(reported, field):
        container.caption(mark)


def set_group_negative(group: str) -> None:
    for field, negative in SCREENING_GROUPS[group]["fields"].items():
        st.session_state[K + field] = negative


def screening_lines(lines: Sequence[str], ask_now: Sequence[str]) -> None:
    for line in lines:
        st.markdown(f"- {line}")
    if ask_now:
        st.warning("Ask now: " + md_escape(", ".join(ask_now)))


def ces_live_warning() -> None:
    # Drawn under the cauda equina questions (where the answer was just given) and above the save button.
    if warning := visit_views.ces_warning(st.session_state.to_dict()):
        st.error(warning, icon=None)


title = visit_views.form_title(correcting, previous)
st.title(md_escape(f"{title} · {patient.display_name}"))
st.caption(f"{md_escape(patient.patient_ref)} · age {patient.age_years(dt.date.today())}")

saved_screening = st.session_state.pop(Keys.SAVED_SCREENING, None)
shown = saved_screening or record.latest_screening
if saved_screening is not None:
    if (toast := visit_views.saved_toast(saved_screening)) is not None:
        st.toast(toast, icon="✅")
    else:
        st.session_state[Keys.RESULT_TO_ACK] = saved_screening


@st.dialog("EMERGENCY: result of the visit just saved", width="large", dismissible=False)
def save_result_dialog(screening: Any) -> None:
    result = screening_banner(screening)
    getattr(st, result.level)(f"{result.icon} **{result.headline}**")
    screening_lines(result.lines, result.ask_now)
    st.caption(DECISION_SUPPORT)
    if st.button("I have read the result", type="primary", key=Keys.RESULT_ACK):
        st.session_state.pop(Keys.RESULT_TO_ACK, None)
        st.rerun()


if (to_ack := st.session_state.get(Keys.RESULT_TO_ACK)) is not None:
    save_result_dialog(to_ack)
if shown is not None:
    banner = screening_banner(shown)
    with st.container(border=True):
        if saved_screening is not None:
            st.success("Visit saved.")
        prefix = "" if saved_screening is not None else "Latest screening: "
        getattr(st, banner.level)(f"{banner.icon} {prefix}**{banner.headline}**")
        screening_lines(banner.lines, visit_views.ask_now_first(reported, banner.ask_now))
        if governance.rule_set_approval(store, banner.rule_set_version) is None:
            st.caption(
                f"⚠️ Rule set {md_escape(banner.rule_set_version)} has not been approved by this clinic yet."
            )
        st.caption(DECISION_SUPPORT)

if carried_from:
    st.info(visit_views.carried_notice(carried_from, st.session_state.get(Keys.CARRIED_ITEMS, [])))
if reported is not None:
    st.info(visit_views.reported_notice(reported), icon=":material/record_voice_over:")

# No widget limits anywhere on this form: a limit drops what was typed in the browser, unseen, and the
# save went ahead without it. The server checks every value and names the field (issue 19).
st.date_input(field_label("visit_date"), None, *page_text.ANY_DATE, key=K + "visit_date", format="YYYY-MM-DD")
err("visit_date")

st.subheader("1 · Pain")
c1, c2 = st.columns(2)
for col, field in ((c1, "pain_nrs"), (c2, "pain_worst_nrs")):
    col.number_input(field_label(field), value=None, step=1, key=K + field, placeholder="not measured")
    reported_mark(field, col)
err("pain_nrs", "pain_worst_nrs")

st.subheader("2 · Walking tolerance")
protocol = choice("Walking test protocol", "walk_protocol")
if visit_views.reported_caption(reported, "walk_protocol"):
    reported_mark("walk_protocol")
elif carried_from and st.session_state.get(K + "walk_protocol"):
    st.caption(f"Protocol from {carried_from}")
if cap := visit_views.protocol_cap_caption(protocol):
    st.caption(cap)
c1, c2, c3, c4 = st.columns(4)
for col, field, step in (
    (c1, "walk_onset_min", 0.5),
    (c2, "walk_onset_m", 10.0),
    (c3, "walk_total_min", 0.5),
    (c4, "walk_total_m", 10.0),
):
    col.number_input(field_label(field), value=None, step=step, key=K + field)
    reported_mark(field, col)
choice("Why the test stopped", "walk_stop_reason")
reported_mark("walk_stop_reason")
if hint := walking_metric_hint(st.session_state.to_dict(), K):
    st.info(hint, icon=":material/straighten:")
err(*WALK_TEST_FIELDS)

st.subheader("3 · Walking symptoms")
columns = [*st.columns(3), *st.columns(3)]
for col, (field, words) in zip(columns, WALKING_SYMPTOM_WORDS.items(), strict=False):
    choice(words, field, col)
choice("Pedal pulses", "pedal_pulses", columns[-1])


st.subheader("4 · Neurology and red-flag screen")
st.caption(
    "Every question starts as *not asked*. Use a group's button only when you asked every question in it."
)
for group, spec in SCREENING_GROUPS.items():
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
        # Row by row, so the keyboard and a screen reader meet the questions in the order they are seen.
        fields = list(spec["fields"])
        for start in range(0, len(fields), 3):
            for col, field in zip(st.columns(3), fields[start : start + 3], strict=False):
                choice(field_label(field), field, col)
                # What the patient said, beside the question; it never answers it (§12.1).
                if said := visit_views.patient_said(reported, field):
                    col.caption(f"**{said}**")
        cols: Sequence[DeltaGenerator] = st.columns(3)
        for field in spec.get("measurements", ()):
            if field == "leg_weakness_mrc":
                cols[0].number_input(field_label(field), value=None, step=1, key=K + field)
            elif field == "temperature_c":
                cols[0].number_input(field_label(field), value=None, step=0.1, key=K + field)
        err(*spec["fields"], *spec.get("measurements", ()))
        if group == "ces":
            ces_live_warning()

st.subheader("5 · Questionnaires")
st.caption(
    "Enter item scores from the patient's completed form. Stride shows only item numbers and short labels."
)
enabled = governance.enabled_instruments(store)
if off := [name for key, name in governance.LICENSED_INSTRUMENTS.items() if key not in enabled]:
    st.caption("Off until an admin records the clinic's licence: " + "; ".join(off) + ".")
# One click per item (a segmented control the keyboard can drive), not a dropdown's two (issue 19);
# a first visit opens the questionnaires, a follow-up keeps them folded.
if "odi" in enabled:
    with st.expander("Oswestry Disability Index (ODI v2.1a): section scores 0–5", expanded=not previous):
        reported_mark("odi_sections")
        for i, label in enumerate(ODI_SECTIONS):
            # A row of two per pair of items, so a narrow screen stacks them in order (1, 2, 3...).
            if i % 2 == 0:
                cols = st.columns(2)
            cols[i % 2].segmented_control(f"{i + 1}. {label}", [0, 1, 2, 3, 4, 5], key=f"{K}odi_{i}")
        st.caption("Click a chosen score again to leave the section blank.")
if "startback" in enabled:
    with st.expander("STarT Back (9 items)", expanded=not previous):
        reported_mark("startback")
        for i, label in enumerate(STARTBACK_LABELS, start=1):
            if i % 2 == 1 and i < 9:
                cols = st.columns(2)
            options = CHOICES["startback_q9" if i == 9 else "startback_agree"]
            # The five-point item 9 takes the full width, so no answer is cut off at 1024 px.
            (st if i == 9 else cols[(i - 1) % 2]).segmented_control(
                f"{i}. {label}",
                [value for value in options if value is not None],
                format_func=options.__getitem__,
                key=f"{K}sb_q{i}",
            )
if "rmdq" in enabled:
    with st.expander("Roland-Morris (RMDQ-24): items that apply today"):
        reported_mark("rmdq_items")
        st.checkbox("RMDQ completed at this visit", key=f"{K}rmdq_done")
        cols = st.columns(4)
        for i, label in enumerate(RMDQ_LABELS):
            cols[i % 4].checkbox(f"{i + 1}. {label}", key=f"{K}rmdq_{i}")
if "zcq" in enabled:
    with st.expander("Zurich Claudication Questionnaire (item codes)"):
        reported_mark("zcq_items")
        cols = st.columns(6)
        for i, label in enumerate(ZCQ_LABELS, start=1):
            cols[(i - 1) % 6].number_input(f"q{i} {label}", value=None, step=1, key=f"{K}zcq_q{i}")
st.markdown("**Patient-Specific Functional Scale** (0 = cannot do, 10 = as before)")
for i in range(5):
    c1, c2 = st.columns([3, 1])
    c1.text_input(
        f"Activity {i + 1}",
        key=f"{K}psfs_activity_{i}",
        label_visibility="collapsed",
        placeholder=f"Activity {i + 1}",
    )
    c2.number_input(
        f"Score {i + 1}",
        value=None,
        step=1,
        key=f"{K}psfs_score_{i}",
        label_visibility="collapsed",
        placeholder="not rated",
    )
    activity = st.session_state.get(f"{K}psfs_activity_{i}") or ""
    if mark := visit_views.reported_psfs_caption(reported, activity):
        c1.caption(mark)
err("odi_sections", "startback", "rmdq_items", "zcq_items", "psfs")

st.subheader("6 · Posture and footwear")
posture_labels, footwear_labels = visit_views.finding_labels(ctx.library_loader)
c1, c2 = st.columns(2)
for col, key, labels in (
    (c1, K + "posture_findings", posture_labels),
    (c2, K + "footwear_findings", footwear_labels),
):
    col.multiselect(
        "Posture findings" if "posture" in key else "Footwear findings",
        visit_views.finding_options(labels, st.session_state.get(key, [])),
        key=key,
        format_func=lambda v, labels=labels: labels.get(v, v),
    )
st.text_area(field_label("notes"), key=K + "notes")
err("notes")

values = values_from_form_state(st.session_state.to_dict(), K)
preview = visit_views.preview_visit(values, patient.id)

st.subheader("Derived values")
with st.container(border=True):
    metrics, captions = visit_views.derived_metrics(values, preview)
    for col, metric in zip(st.columns(4), metrics, strict=True):
        col.metric(metric.label, metric.value, metric.delta, delta_color="off")
    for caption in captions:
        st.caption(caption)
    if preview is not None and (visits or correcting):
        table, note = visit_views.change_preview(visits, correcting, preview, dt.datetime.now(dt.UTC))
        if table:
            # A static HTML table: screen readers can read it (st.dataframe draws on a canvas).
            st.table(table, border="horizontal", hide_index=True)
        if note:
            st.info(note)

if not correcting:
    st.date_input(
        field_label("next_review_date"),
        None,
        *page_text.ANY_DATE,
        key=Keys.NEXT_REVIEW_DATE,
        format="YYYY-MM-DD",
        help="Saved on the patient with this visit. Clear a review date on the patient's page.",
    )
    err("next_review_date")
st.divider()
if carried_from:
    st.checkbox(f"Confirm carried-forward items (from {carried_from})", key=Keys.CONFIRM_CARRIED)
    err("confirm_carried")
if not correcting and visit_views.reported_to_confirm(st.session_state.to_dict()):
    st.checkbox(visit_views.CONFIRM_REPORTED_LABEL, key=Keys.CONFIRM_REPORTED)
    err("confirm_reported")
if correcting:
    st.text_input("Reason for the correction", key=Keys.REASON)
ces_live_warning()
if st.button("Save correction" if correcting else "Save visit", type="primary", key=Keys.SAVE):
    st.session_state[Keys.ERRORS] = {}
    try:
        _, screening = visit_views.save_visit(
            store, user, settings, patient, correcting, values, st.session_state.to_dict()
        )
    except InvalidInputError as exc:
        st.session_state[Keys.ERRORS] = exc.errors
        st.rerun()
    except StrideError as exc:
        st.error(md_escape(str(exc)))
    else:
        st.session_state.pop(CORRECT_VISIT_ID, None)
        st.session_state[Keys.FORM_ID] = None
        st.session_state[Keys.SAVED_SCREENING] = screening
        st.rerun()
if errors:
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
