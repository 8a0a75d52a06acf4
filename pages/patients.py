import datetime as dt

import streamlit as st

from dashboard import auth, page_text, services
from dashboard.config import Settings
from dashboard.languages import LANGUAGES, language_label
from dashboard.models import RISK_FIELDS, Patient
from dashboard.ports import InvalidInputError, Store, StrideError, User
from dashboard.safe_text import md_escape
from dashboard.trends import PROTOCOL_NAMES
from dashboard.visit_form import PATIENT_LABELS, error_message

# A deep link as the very first request after a restart can run this script before the router
# (Streamlit's pages/ fallback); send it through app.py, which holds the login gate.
if "store" not in st.session_state:
    st.switch_page("app.py")

store: Store = st.session_state["store"]
user: User = st.session_state["user"]
settings: Settings = st.session_state["settings"]
can_write = auth.can(user.role, "write_clinical")

RISK_LABELS = {
    "history_of_cancer": "History of cancer (current or previous)",
    "osteoporosis": "Osteoporosis",
    "prolonged_corticosteroids": "Oral corticosteroids for 3 months or more",
    "immunosuppressed": "Immunosuppressed",
    "iv_drug_use": "Intravenous drug use",
    "smoker": "Smoker",
}
SEX = {"F": "Female", "M": "Male", "X": "Other / not stated"}


def select_patient(patient_id: str) -> None:
    st.session_state["patient_id"] = patient_id
    st.query_params["patient"] = patient_id


def show_errors(errors: dict[str, str]) -> None:
    for field, message in errors.items():
        st.error(md_escape(error_message(field, message, PATIENT_LABELS)))


def patient_fields(prefix: str, current: dict | None = None) -> dict:
    current = current or {}
    c1, c2, c3 = st.columns(3)
    values = {
        "patient_ref": c1.text_input(
            "Clinic reference (MRN)", current.get("patient_ref", ""), key=f"{prefix}_ref"
        ),
        "given_name": c2.text_input("Given name", current.get("given_name", ""), key=f"{prefix}_given"),
        "family_name": c3.text_input("Family name", current.get("family_name", ""), key=f"{prefix}_family"),
    }
    c1, c2, c3 = st.columns(3)
    values["birth_date"] = c1.date_input(
        "Date of birth",
        current.get("birth_date"),
        # A wide calendar, not a limit: a future date reaches the server and is refused there (issue 19).
        *page_text.ANY_DATE,
        key=f"{prefix}_birth",
        format="YYYY-MM-DD",
    )
    sex_keys = list(SEX)
    values["sex"] = c2.selectbox(
        "Sex",
        sex_keys,
        index=sex_keys.index(current["sex"]) if current.get("sex") else None,
        format_func=SEX.__getitem__,
        key=f"{prefix}_sex",
        placeholder="Choose",
    )
    values["symptom_onset"] = c3.date_input(
        "Symptom onset (this episode)",
        current.get("symptom_onset"),
        *page_text.ANY_DATE,
        key=f"{prefix}_onset",
        format="YYYY-MM-DD",
    )
    c1, c2 = st.columns(2)
    values["next_review_date"] = c1.date_input(
        "Next review (optional)",
        current.get("next_review_date"),
        *page_text.ANY_DATE,
        key=f"{prefix}_review",
        format="YYYY-MM-DD",
    )
    tags = list(LANGUAGES)
    language = current.get("language") or "en"
    if language not in tags:
        tags.append(language)  # a tag stored by an import stays selectable
    values["language"] = c2.selectbox(
        "Handout language",
        tags,
        index=tags.index(language),
        format_func=language_label,
        key=f"{prefix}_language",
    )
    st.markdown("**Risk history** (used by the red-flag rules)")
    # Two a row, filled row by row: three a row cut the longer labels short, and the focus order
    # follows the reading order.
    for start in range(0, len(RISK_FIELDS), 2):
        for col, name in zip(st.columns(2), RISK_FIELDS[start : start + 2], strict=False):
            values[name] = col.checkbox(
                RISK_LABELS[name], bool(current.get(name, False)), key=f"{prefix}_{name}"
            )
    return values


st.title("Patients")
st.caption("Find, add, edit, archive and restore patients. Only opaque ids appear in the address bar.")

query = st.text_input("Find by name or reference", key="patient_search", placeholder="e.g. Zoe or DEMO-00012")
show_archived = st.toggle("Include archived patients", key="show_archived")
try:
    found: list[Patient] | None = (
        services.find_patients(store, user, query, include_archived=show_archived) if query else []
    )
except InvalidInputError as exc:
    st.error(md_escape(" ".join(exc.errors.values())))
    found = None
except StrideError as exc:
    st.error(md_escape(str(exc)))
    found = None
if query and found == []:
    st.info("No patient matches. Check the spelling, or add the patient below.")
for patient in found or []:
    c1, c2, c3 = st.columns([4, 2, 1])
    archived = " · archived" if patient.archived else ""
    c1.markdown(f"**{md_escape(patient.display_name)}** · {md_escape(patient.patient_ref)}{archived}")
    c2.caption(f"born {patient.birth_date:%Y-%m-%d}")
    if c3.button("Open", key=f"open_{patient.id}"):
        select_patient(patient.saved_id)
        st.rerun()

if can_write:
    with st.expander("➕ Add a patient", expanded=not query and not st.session_state.get("patient_id")):
        with st.form("add_patient", clear_on_submit=False):
            new_values = patient_fields("new")
            add = st.form_submit_button("Add patient", type="primary")
        if add:
            try:
                created = services.register_patient(store, user, new_values)
            except InvalidInputError as exc:
                show_errors(exc.errors)
            except StrideError as exc:
                st.error(md_escape(str(exc)))
            else:
                select_patient(created.saved_id)
                st.success("Patient added.")
                st.rerun()

patient_id: str = st.query_params.get("patient") or st.session_state.get("patient_id") or ""
if not patient_id:
    st.info("Find a patient above, or pick one from the caseload.")
    st.stop()
try:
    record = services.open_patient(store, user, patient_id)
except StrideError as exc:
    st.error(md_escape(str(exc)))
    st.stop()

patient = record.patient
st.divider()
st.subheader(md_escape(f"{patient.display_name} · {patient.patient_ref}"))
today = dt.date.today()
st.caption(
    f"Age {patient.age_years(today)} · {SEX[patient.sex]} · symptom onset {patient.symptom_onset:%Y-%m-%d}"
    + (" · **archived**" if patient.archived else "")
)
risk = [RISK_LABELS[name] for name in RISK_FIELDS if getattr(patient, name)]
st.markdown("**Risk history:** " + (", ".join(risk) if risk else "none recorded"))

c1, c2, c3 = st.columns(3)
c1.page_link("pages/visit.py", label="Record a visit", icon="📝")
c2.page_link("pages/progress.py", label="Progress", icon="📈")
c3.page_link("pages/plan.py", label="Plan & handout", icon="📄")

st.markdown("#### Visits")
if not record.visits:
    st.info("No visits recorded yet. Record the first visit to see scores, trends and red-flag screening.")
for visit in reversed(record.visits):
    cols = st.columns([2, 2, 3, 1])
    cols[0].markdown(
        f"**{visit.visit_date:%Y-%m-%d}**" + (f" · v{visit.version}" if visit.version > 1 else "")
    )
    cols[1].caption(f"Pain {visit.pain_nrs if visit.pain_nrs is not None else '–'}/10")
    protocol = PROTOCOL_NAMES.get(visit.walk_protocol or "", visit.walk_protocol or "no test")
    cols[2].caption(f"Walking: {protocol}")
    if can_write and cols[3].button("Correct", key=f"correct_{visit.id}"):
        st.session_state["correct_visit_id"] = visit.id
        st.switch_page("pages/visit.py")

if can_write:
    with st.expander("✏️ Edit patient details"):
        with st.form("edit_patient"):
            edited = patient_fields("edit", patient.model_dump())
            reason = st.text_input("Reason for the change (kept in the history)", key="edit_reason")
            save = st.form_submit_button("Save changes")
        if save:
            try:
                services.update_patient(
                    store,
                    user,
                    patient.saved_id,
                    edited,
                    expected_version=patient.version,
                    reason=reason,
                    settings=settings,
                )
            except InvalidInputError as exc:
                show_errors(exc.errors)
            except StrideError as exc:
                st.error(md_escape(str(exc)))
            else:
                st.success("Saved. The earlier values are kept in the history.")
                st.rerun()
    with st.expander("🗄️ Archive or restore"):
        archive_reason = st.text_input("Reason", key="archive_reason")
        label = "Restore patient" if patient.archived else "Archive patient"
        if st.button(label, key="archive_toggle"):
            try:
                services.set_patient_archived(
                    store, user, patient.saved_id, archived=not patient.archived, reason=archive_reason
                )
            except InvalidInputError as exc:
                show_errors(exc.errors)
            except StrideError as exc:
                st.error(md_escape(str(exc)))
            else:
                st.rerun()

history = services.patient_history(store, user, patient.saved_id)
if history:
    with st.expander(f"🕘 History of changes ({len(history)})"):
        for rev in reversed(history):
            st.markdown(
                f"**v{rev.version}** · {rev.changed_at:%Y-%m-%d %H:%M} UTC · reason: {md_escape(rev.reason)}"
            )
            st.json({"before": rev.before, "after": rev.after}, expanded=False)
