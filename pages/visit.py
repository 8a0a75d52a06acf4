import datetime as dt
from collections.abc import Sequence
from typing import Any

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from dashboard import auth, governance, page_text, services
from dashboard.config import Settings
from dashboard.models import WALK_CAP_MIN, Visit
from dashboard.outcomes import ODI_BAND_LABELS, score_odi, score_psfs, score_rmdq, score_startback, score_zcq
from dashboard.ports import InvalidInputError, Store, StrideError, User
from dashboard.presenters import DECISION_SUPPORT, FIELD_LABELS, screening_banner
from dashboard.safe_text import md_escape
from dashboard.trends import change_table, protocol_note
from dashboard.visit_form import (
    CHOICES,
    ODI_SECTIONS,
    RMDQ_LABELS,
    SCREENING_GROUPS,
    STARTBACK_LABELS,
    ZCQ_LABELS,
    carried_forward_items,
    error_message,
    field_label,
    form_state_from_visit,
    live_ces_answers,
    values_from_form_state,
    walking_metric_hint,
)
from dashboard.walking import WALKING_SYMPTOM_WORDS, claudication_text

# A deep link as the very first request after a restart can run this script before the router
# (Streamlit's pages/ fallback); send it through app.py, which holds the login gate.
if "store" not in st.session_state:
    st.switch_page("app.py")

store: Store = st.session_state["store"]
user: User = st.session_state["user"]
settings: Settings = st.session_state["settings"]
K = "v_"  # every widget of this form lives under this prefix in session state

patient_id: str = st.query_params.get("patient") or st.session_state.get("patient_id") or ""
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
correcting = next((v for v in visits if v.id == st.session_state.get("correct_visit_id")), None)
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

# (Re)initialise the form when the patient or the visit being corrected changes.
form_id = f"{patient.id}:{correcting.id if correcting else 'new'}"
if st.session_state.get(f"{K}form_id") != form_id:
    for key in [k for k in st.session_state if str(k).startswith(K)]:
        del st.session_state[key]
    source = correcting or previous
    st.session_state.update(form_state_from_visit(source, K, copy_forward_only=correcting is None))
    st.session_state[f"{K}form_id"] = form_id
    st.session_state[f"{K}next_review_date"] = patient.next_review_date
    st.session_state[f"{K}confirm_carried"] = False  # a new form is never confirmed in advance
    # Only a form that carried something forward asks for it to be confirmed (issue 19).
    carried = carried_forward_items(previous) if correcting is None else []
    st.session_state[f"{K}carried_items"] = carried
    st.session_state[f"{K}carried_from"] = previous.visit_date.isoformat() if previous and carried else None
    # The version this correction is based on: a newer save by someone else must be detected, not overwritten.
    st.session_state[f"{K}base_version"] = correcting.version if correcting else None

# Streamlit drops the state of every widget a run does not draw, so a trip to another page would reset
# this form to widget defaults (no protocol, pain 0) while the page still looks filled in. Keep a plain
# (non-widget) copy of the form's values and put back whatever Streamlit dropped.
kept_keys = [
    *form_state_from_visit(None, K, copy_forward_only=True),
    *(K + name for name in ("confirm_carried", "reason", "next_review_date")),
]
for key, value in st.session_state.get(f"{K}kept", {}).items():
    if key not in st.session_state:
        st.session_state[key] = value
st.session_state[f"{K}kept"] = {key: st.session_state[key] for key in kept_keys if key in st.session_state}

errors: dict[str, str] = st.session_state.get(f"{K}errors", {})
carried_from = st.session_state.get(f"{K}carried_from")


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


def set_group_negative(group: str) -> None:
    for field, negative in SCREENING_GROUPS[group]["fields"].items():
        st.session_state[K + field] = negative


title = "Correct a visit" if correcting else ("Follow-up visit" if previous else "First visit")
st.title(md_escape(f"{title} · {patient.display_name}"))
st.caption(f"{md_escape(patient.patient_ref)} · age {patient.age_years(dt.date.today())}")

saved_screening = st.session_state.pop("visit_saved_screening", None)
shown = saved_screening or record.latest_screening
if saved_screening is not None:
    # The page keeps its scroll position after the save (the button is ~4,400 px down), so the result
    # goes where the clinician is looking: an EMERGENCY in a dialog that must be acknowledged, any
    # other result in a toast. The banner below stays for later.
    if saved_screening.urgency == "EMERGENCY":
        st.session_state["visit_result_to_ack"] = saved_screening
    else:
        st.toast(f"Saved. Screening: {screening_banner(saved_screening).headline}", icon="✅")


@st.dialog("EMERGENCY: result of the visit just saved", width="large", dismissible=False)
def save_result_dialog(screening: Any) -> None:
    result = screening_banner(screening)
    getattr(st, result.level)(f"{result.icon} **{result.headline}**")
    for line in result.lines:
        st.markdown(f"- {line}")
    if result.ask_now:
        st.warning("Ask now: " + md_escape(", ".join(result.ask_now)))
    st.caption(DECISION_SUPPORT)
    if st.button("I have read the result", type="primary", key="visit_result_ack"):
        st.session_state.pop("visit_result_to_ack", None)
        st.rerun()


if (to_ack := st.session_state.get("visit_result_to_ack")) is not None:
    save_result_dialog(to_ack)
if shown is not None:
    banner = screening_banner(shown)
    with st.container(border=True):
        if saved_screening is not None:
            st.success("Visit saved.")
        prefix = "" if saved_screening is not None else "Latest screening: "
        getattr(st, banner.level)(f"{banner.icon} {prefix}**{banner.headline}**")
        for line in banner.lines:
            st.markdown(f"- {line}")
        if banner.ask_now:
            st.warning("Ask now: " + md_escape(", ".join(banner.ask_now)))
        if governance.rule_set_approval(store, banner.rule_set_version) is None:
            st.caption(
                f"⚠️ Rule set {md_escape(banner.rule_set_version)} has not been approved by this clinic yet."
            )
        st.caption(DECISION_SUPPORT)

if carried_from and not correcting:
    st.info(
        f"Carried forward **from {carried_from}**: "
        + md_escape(", ".join(st.session_state.get(f"{K}carried_items", [])))
        + ". Check them with the patient, then tick *Confirm carried-forward items* before saving."
    )

# No widget limits anywhere on this form: a limit drops what was typed in the browser, unseen, and the
# save went ahead without it. The server checks every value and names the field (issue 19).
st.date_input(field_label("visit_date"), None, *page_text.ANY_DATE, key=K + "visit_date", format="YYYY-MM-DD")
err("visit_date")

st.subheader("1 · Pain")
c1, c2 = st.columns(2)
for col, field in ((c1, "pain_nrs"), (c2, "pain_worst_nrs")):
    col.number_input(field_label(field), value=None, step=1, key=K + field, placeholder="not measured")
err("pain_nrs", "pain_worst_nrs")

st.subheader("2 · Walking tolerance")
protocol = choice("Walking test protocol", "walk_protocol")
if carried_from and not correcting and st.session_state.get(K + "walk_protocol"):
    st.caption(f"Protocol from {carried_from}")
cap = WALK_CAP_MIN.get(protocol or "")
if cap:
    st.caption(f"This protocol stops at {cap:g} min.")
c1, c2, c3, c4 = st.columns(4)
for col, field, step in (
    (c1, "walk_onset_min", 0.5),
    (c2, "walk_onset_m", 10.0),
    (c3, "walk_total_min", 0.5),
    (c4, "walk_total_m", 10.0),
):
    col.number_input(field_label(field), value=None, step=step, key=K + field)
choice("Why the test stopped", "walk_stop_reason")
if hint := walking_metric_hint(st.session_state.to_dict(), K):
    st.info(hint, icon=":material/straighten:")
err("walk_protocol", "walk_onset_min", "walk_onset_m", "walk_total_min", "walk_total_m", "walk_stop_reason")

st.subheader("3 · Walking symptoms")
columns = [*st.columns(3), *st.columns(3)]
for col, (field, words) in zip(columns, WALKING_SYMPTOM_WORDS.items(), strict=False):
    choice(words, field, col)
choice("Pedal pulses", "pedal_pulses", columns[-1])


def ces_live_warning() -> None:
    """Warn while the form is still open: a CES answer now 'new' or 'worsening' is an emergency.

    Drawn under the cauda equina questions (where the answer was just given) and again above the
    save button.
    """
    active = live_ces_answers(st.session_state.to_dict(), K)
    if not active:
        return
    found = md_escape(
        "; ".join(f"{FIELD_LABELS.get(f, f).lower()}: {st.session_state[K + f]}" for f in active)
    )
    st.error(
        f"🚨 **EMERGENCY: possible cauda equina syndrome** ({found}). Refer immediately: to be seen "
        "within a few hours, emergency MRI within 4 h of the request. Save the visit and act now; "
        "do not wait for the end of the appointment.",
        icon=None,
    )


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
        for i, label in enumerate(ODI_SECTIONS):
            # A row of two per pair of items, so a narrow screen stacks them in order (1, 2, 3...).
            if i % 2 == 0:
                cols = st.columns(2)
            cols[i % 2].segmented_control(f"{i + 1}. {label}", [0, 1, 2, 3, 4, 5], key=f"{K}odi_{i}")
        st.caption("Click a chosen score again to leave the section blank.")
if "startback" in enabled:
    with st.expander("STarT Back (9 items)", expanded=not previous):
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
        st.checkbox("RMDQ completed at this visit", key=f"{K}rmdq_done")
        cols = st.columns(4)
        for i, label in enumerate(RMDQ_LABELS):
            cols[i % 4].checkbox(f"{i + 1}. {label}", key=f"{K}rmdq_{i}")
if "zcq" in enabled:
    with st.expander("Zurich Claudication Questionnaire (item codes)"):
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
err("odi_sections", "startback", "rmdq_items", "zcq_items", "psfs")

st.subheader("6 · Posture and footwear")
try:
    library = st.session_state["library_loader"]()
    posture_labels, footwear_labels = library.finding_labels("posture"), library.finding_labels("footwear")
except Exception:  # the findings lists are optional; the visit can still be saved
    posture_labels, footwear_labels = {}, {}
c1, c2 = st.columns(2)
for key, labels in ((K + "posture_findings", posture_labels), (K + "footwear_findings", footwear_labels)):
    # A stored finding the library no longer lists stays selectable (never dropped), shown as its id.
    extra = [v for v in st.session_state.get(key, []) if v not in labels]
    (c1 if "posture" in key else c2).multiselect(
        "Posture findings" if "posture" in key else "Footwear findings",
        [*labels, *extra],
        key=key,
        format_func=lambda v, labels=labels: labels.get(v, v),
    )
st.text_area(field_label("notes"), key=K + "notes")
err("notes")

values = values_from_form_state(st.session_state.to_dict(), K)
try:
    preview: Visit | None = Visit.model_validate({**values, "patient_id": patient.id})
except Exception:
    preview = None

st.subheader("Derived values")
with st.container(border=True):
    c1, c2, c3, c4 = st.columns(4)
    odi = score_odi(values["odi_sections"]) if values.get("odi_sections") else None
    c1.metric(
        "ODI",
        f"{odi.percent:.1f} %" if odi and odi.percent is not None else "–",
        ODI_BAND_LABELS.get(odi.band, "") if odi and odi.band else None,
        delta_color="off",
    )
    sb = score_startback(values["startback"]) if values.get("startback") else None
    c2.metric(
        "STarT Back",
        f"{sb.risk} risk" if sb and sb.scorable else "incomplete" if sb else "–",
        f"total {sb.total}, psychosocial {sb.psychosocial}" if sb and sb.scorable else None,
        delta_color="off",
    )
    psfs = score_psfs(values["psfs"]) if values.get("psfs") else None
    c3.metric("PSFS mean", f"{psfs.mean:.1f}" if psfs and psfs.mean is not None else "–")
    rm = score_rmdq(values["rmdq_items"]) if values.get("rmdq_items") else None
    zcq = score_zcq(values["zcq_items"]) if values.get("zcq_items") else None
    c4.metric("Claudication pattern", claudication_text(preview) if preview else "–")
    if rm and rm.scorable:
        st.caption(f"RMDQ total {rm.total}/24")
    if zcq and zcq.symptom_severity is not None:
        st.caption(
            f"ZCQ symptom severity {zcq.symptom_severity:.2f}, physical function "
            f"{zcq.physical_function or 0:.2f}"
        )
    if preview is not None and (visits or correcting):
        others = [v for v in visits if not correcting or v.id != correcting.id]
        rows = change_table([*others, preview.model_copy(update={"recorded_at": dt.datetime.now(dt.UTC)})])
        if rows:
            # A static HTML table: screen readers can read it (st.dataframe draws on a canvas).
            st.table(
                [
                    {
                        "Measure": r.label,
                        "First": f"{page_text.number(r.first_value)} ({r.first_date:%Y-%m-%d})",
                        "Now": page_text.number(r.latest_value),
                        "Change since first": "–"
                        if r.change_since_first is None
                        else page_text.number(r.change_since_first, signed=True),
                        # Next to the change it judges, so it stays in view in a narrow window.
                        "Judgement": r.judgement_text,
                        "Change since previous": "–"
                        if r.change_since_previous is None
                        else page_text.number(r.change_since_previous, signed=True),
                    }
                    for r in rows
                ],
                border="horizontal",
                hide_index=True,
            )
        note = protocol_note([*others, preview])
        if note:
            st.info(note)

if not correcting:
    st.date_input(
        field_label("next_review_date"),
        None,
        *page_text.ANY_DATE,
        key=K + "next_review_date",
        format="YYYY-MM-DD",
        help="Saved on the patient with this visit. Clear a review date on the patient's page.",
    )
    err("next_review_date")
st.divider()
if carried_from and not correcting:
    st.checkbox(f"Confirm carried-forward items (from {carried_from})", key=K + "confirm_carried")
    err("confirm_carried")
reason = st.text_input("Reason for the correction", key=K + "reason") if correcting else ""
ces_live_warning()
# Only a review date the clinician changed is saved: the stored one may already be overdue.
review = st.session_state.get(K + "next_review_date")
if st.button("Save correction" if correcting else "Save visit", type="primary", key=K + "save"):
    st.session_state[f"{K}errors"] = {}
    try:
        if carried_from and not correcting and not st.session_state.get(K + "confirm_carried"):
            raise InvalidInputError({"confirm_carried": "confirm the carried-forward items first."})
        if correcting:
            saved, screening = services.correct_visit(
                store,
                user,
                correcting.saved_id,
                values,
                expected_version=st.session_state[f"{K}base_version"],
                reason=reason,
                settings=settings,
            )
        else:
            saved, screening = services.record_visit(
                store,
                user,
                patient.saved_id,
                values,
                settings=settings,
                next_review_date=None if review == patient.next_review_date else review,
            )
    except InvalidInputError as exc:
        st.session_state[f"{K}errors"] = exc.errors
        st.rerun()
    except StrideError as exc:
        st.error(md_escape(str(exc)))
    else:
        st.session_state.pop("correct_visit_id", None)
        st.session_state[f"{K}form_id"] = None
        st.session_state["visit_saved_screening"] = screening
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
            st.markdown(f"**v{rev.version}** · {rev.changed_at:%Y-%m-%d %H:%M} UTC · {md_escape(rev.reason)}")
            st.json({"before": rev.before, "after": rev.after}, expanded=False)
