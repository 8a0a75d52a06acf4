import datetime as dt

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from dashboard import auth, flag_queue, letter_services, letters, page_text, services
from dashboard.config import Settings
from dashboard.letters import CES_RULES, RECIPIENTS
from dashboard.models import CLOSE_ACTIONS, CLOSE_ACTIONS_NEEDING_TEXT
from dashboard.ports import InvalidInputError, Store, StrideError, User
from dashboard.presenters import DECISION_SUPPORT, TIER_ICON, TIER_LEVEL, TIER_WORDS
from dashboard.safe_text import md_escape
from reports import letters as letter_pdf

CLOSE_DETAIL_MAX = 1000

# A deep link as the very first request after a restart can run this script before the router
# (Streamlit's pages/ fallback); send it through app.py, which holds the login gate.
if "store" not in st.session_state:
    st.switch_page("app.py")

store: Store = st.session_state["store"]
user: User = st.session_state["user"]
settings: Settings = st.session_state["settings"]
can_close = auth.can(user.role, "write_clinical")

st.title("Red flags")
st.caption(
    "Open escalations across the caseload, most urgent and oldest first. The rules one screening raised "
    "together are one event: one card, closed with one action."
)

flash = st.session_state.pop("flags_flash", None)
if flash:
    st.success(flash)
# The referral letter just written, offered once more for download (the stored bytes, audited).
if given := st.session_state.get("flags_letter"):
    letter_patient, letter_id = given
    try:
        letter = letter_services.stored_letter(store, user, letter_patient, letter_id)
    except StrideError:
        st.session_state.pop("flags_letter", None)
    else:

        def letter_bytes(pdf: bytes = letter.pdf) -> bytes:
            services.record_export(store, user, "letter_copy", patient_id=letter_patient)
            return pdf

        st.download_button(
            "Download the referral letter (PDF)",
            data=letter_bytes,
            file_name=letters.letter_file_name(letter, settings.timezone),
            mime="application/pdf",
            icon="✉️",
            type="primary",
            on_click="ignore",
            key="flags_letter_download",
        )


def show_errors(exc: InvalidInputError, slots: dict[str, DeltaGenerator], general: DeltaGenerator) -> None:
    """Each field's message beside its field; any other under the form."""
    for field, message in exc.errors.items():
        slots.get(field, general).error(md_escape(message))


try:
    groups = services.open_escalation_groups(store, user)
except StrideError as exc:
    st.error(md_escape(str(exc)))
    st.stop()

if not groups:
    st.info("No open escalations.")
    st.caption(DECISION_SUPPORT)
    st.stop()

st.markdown(f"**{page_text.open_flag_summary(esc.tier for g in groups for esc in g.escalations)}**")
st.caption(DECISION_SUPPORT)
if not can_close:
    st.caption("Your role can view escalations but not close them.")

now = dt.datetime.now(dt.UTC)
urgent_first = [tier for tier in page_text.TIERS_MOST_URGENT_FIRST if tier != "NONE"]
tiers = st.pills(
    "Tier",
    urgent_first,
    selection_mode="multi",
    default=urgent_first,
    format_func=page_text.TIER_SHORT.__getitem__,
    key="flags_tiers",
)
c1, c2 = st.columns(2)
clinician = c1.selectbox("Clinician", flag_queue.clinician_choices(groups), key="flags_clinician")
age = c2.selectbox("Open for", list(flag_queue.FLAG_AGES), key="flags_age")
shown = flag_queue.filter_events(groups, now=now, tiers=tiers, clinician=clinician, age=age)
st.caption(f"Showing {len(shown)} of {len(groups)} events.")
if not shown:
    st.info("No open event matches these filters. Clear a filter to see more.")
needs_text = ", ".join(
    CLOSE_ACTIONS[a].split(" (")[0].lower() for a in CLOSE_ACTIONS if a in CLOSE_ACTIONS_NEEDING_TEXT
)
# One card per event: the escalations one screening raised, most urgent rule first, one closing action.
for group in shown:
    lead, patient = group.lead, group.patient
    rules = [md_escape(e.rule_id) for e in group.escalations]
    with st.container(border=True, key=f"flag_{lead.id}"):
        head, side = st.columns([4, 1], vertical_alignment="top")
        with head:
            getattr(st, TIER_LEVEL[lead.tier])(
                f"{TIER_ICON[lead.tier]} **{TIER_WORDS[lead.tier]}**", icon=None
            )
            name, ref = md_escape(patient.display_name), md_escape(patient.patient_ref)
            label = "rule" if len(rules) == 1 else f"{len(rules)} rules from one screening"
            who = f" · {md_escape(group.clinician)}" if group.clinician else ""
            st.markdown(f"**{name}** ({ref}){who} · {label}: {', '.join(rules)}")
            for esc in group.escalations:
                # Stored texts are escaped too: an escalation may come from an import.
                prefix = f"{TIER_ICON[esc.tier]} **{md_escape(esc.rule_id)}** ({TIER_WORDS[esc.tier]})  \n"
                st.markdown(
                    (prefix if len(rules) > 1 else "")
                    + f"**Reason:** {md_escape(esc.reason)}  \n"
                    + f"**Action:** {md_escape(esc.action)}  \n**Timeframe:** {md_escape(esc.timeframe)}"
                )
            st.caption(
                f"Opened {page_text.local_time(lead.opened_at, settings.timezone)} "
                f"({page_text.days_ago(lead.opened_at, now)})"
            )
        with side:
            if st.button("Open patient", key=f"open_{lead.id}", icon="📈"):
                st.session_state["patient_id"] = lead.patient_id
                st.switch_page("pages/progress.py", query_params={"patient": lead.patient_id})

        if not can_close:
            continue
        with st.form(f"close_{lead.id}", border=False):
            c1, c2 = st.columns([1, 2])
            with c1:
                action = st.selectbox(
                    "Action taken",
                    list(CLOSE_ACTIONS),
                    index=None,
                    format_func=CLOSE_ACTIONS.__getitem__,
                    placeholder="Choose the action taken",
                    key=f"close_action_{lead.id}",
                )
                action_error = st.empty()
            with c2:
                detail = st.text_input(
                    "Reference, reason or description",
                    key=f"close_detail_{lead.id}",
                    help=f"Required for: {needs_text}. Kept in the audit trail.",
                )
                detail_error = st.empty()
            submit_label = "Close escalation" if len(rules) == 1 else f"Close all {len(rules)} escalations"
            submitted = st.form_submit_button(submit_label, key=f"close_submit_{lead.id}")
            general_error = st.empty()
        if submitted:
            try:
                # The length is checked here, not by the widget, which drops longer text unseen (issue 19).
                if len(detail) > CLOSE_DETAIL_MAX:
                    raise InvalidInputError(
                        {
                            "close_detail": f"Reference, reason or description can hold at most "
                            f"{CLOSE_DETAIL_MAX:,} characters (you entered {len(detail):,})."
                        }
                    )
                services.close_escalation_group(
                    store, user, group.versions, action=action or "", detail=detail
                )
            except InvalidInputError as exc:
                show_errors(exc, {"close_action": action_error, "close_detail": detail_error}, general_error)
            except StrideError as exc:
                general_error.error(md_escape(str(exc)))
            else:
                st.session_state["flags_flash"] = (
                    f"Closed {', '.join(rules)} for {md_escape(patient.display_name)}: "
                    f"{md_escape(CLOSE_ACTIONS[action or ''])}."
                )
                st.rerun()

        # Closing as an urgent referral with its letter as the evidence (clinical-reference §13).
        label = "Close with a referral letter" + (
            " (suspected CES: emergency pathway)"
            if any(e.rule_id in CES_RULES for e in group.escalations)
            else ""
        )
        now_local = page_text.local_datetime(now, settings.timezone)
        st.session_state.setdefault(f"refer_on_{lead.id}", now_local.date())
        st.session_state.setdefault(f"refer_at_{lead.id}", now_local.time().replace(second=0, microsecond=0))
        with st.expander(label), st.form(f"refer_{lead.id}", border=False):
            recipient = st.radio(
                "Letter to",
                list(RECIPIENTS),
                index=None,
                format_func=RECIPIENTS.__getitem__,
                horizontal=True,
                key=f"refer_to_{lead.id}",
            )
            recipient_error = st.empty()
            told = st.text_area(
                "What the patient was told",
                key=f"refer_told_{lead.id}",
                help="The safety-netting advice you gave, printed in the letter as you write it.",
            )
            told_error = st.empty()
            c1, c2 = st.columns(2)
            # The defaults (now) are set once in session state above, so a rerun never moves them.
            first, last = page_text.ANY_DATE
            told_on = c1.date_input(
                "Told on", min_value=first, max_value=last, key=f"refer_on_{lead.id}", format="YYYY-MM-DD"
            )
            told_time = c2.time_input("At", key=f"refer_at_{lead.id}", step=60)
            when_error = st.empty()
            reference = st.text_input("Reference (optional)", key=f"refer_ref_{lead.id}")
            reference_error = st.empty()
            sent = st.form_submit_button("Close and write the letter", key=f"refer_submit_{lead.id}")
            letter_error = st.empty()
        if sent:
            told_at = (
                page_text.clinic_moment(told_on, told_time, settings.timezone)
                if told_on and told_time
                else None
            )
            try:
                letter, _ = letter_services.refer_with_letter(
                    store,
                    user,
                    patient.saved_id,
                    group.versions,
                    recipient=recipient,
                    told=told,
                    told_at=told_at,
                    settings=settings,
                    render=letter_pdf.render,
                    reference=reference,
                )
            except InvalidInputError as exc:
                slots = {
                    "recipient": recipient_error,
                    "told": told_error,
                    "told_at": when_error,
                    "reference": reference_error,
                }
                show_errors(exc, slots, letter_error)
            except StrideError as exc:
                letter_error.error(md_escape(str(exc)))
            else:
                st.session_state["flags_flash"] = (
                    f"Closed {', '.join(rules)} for {md_escape(patient.display_name)} as a referral to "
                    f"{md_escape(RECIPIENTS[letter.recipient].lower())}, with the letter as its evidence."
                )
                st.session_state["flags_letter"] = (patient.saved_id, letter.id)
                st.rerun()
