import datetime as dt

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from dashboard import auth, flag_queue, flag_views, letter_services, letters, page_text, services
from dashboard import page_keys as keys
from dashboard.letters import RECIPIENTS
from dashboard.models import CLOSE_ACTIONS
from dashboard.page_context import page_context
from dashboard.ports import InvalidInputError, StrideError
from dashboard.presenters import DECISION_SUPPORT
from dashboard.safe_text import md_escape
from reports import letters as letter_pdf

K = keys.Flags
# A deep link as the very first request after a restart can run this script before the router
# (Streamlit's pages/ fallback); send it through app.py, which holds the login gate.
if (ctx := page_context(st.session_state, st.query_params)) is None:
    st.switch_page("app.py")
    st.stop()
store, user, settings = ctx.store, ctx.user, ctx.settings
can_close = auth.can(user.role, "write_clinical")

st.title("Red flags")
st.caption(
    "Open escalations across the caseload, most urgent and oldest first. The rules one screening raised "
    "together are one event: one card, closed with one action."
)

if flash := st.session_state.pop(K.FLASH, None):
    st.success(flash)
# The referral letter just written, offered once more for download (the stored bytes, audited).
if given := st.session_state.get(K.LETTER):
    letter_patient, letter_id = given
    try:
        letter = letter_services.stored_letter(store, user, letter_patient, letter_id)
    except StrideError:
        st.session_state.pop(K.LETTER, None)
    else:

        def letter_bytes(pdf: bytes = letter.pdf) -> bytes:
            services.record_export(store, user, "letter_copy", patient_id=letter_patient)
            return pdf

        file_name = letters.letter_file_name(letter, settings.timezone)
        st.download_button(
            data=letter_bytes, **flag_views.LETTER_DOWNLOAD.button(K.LETTER_DOWNLOAD, file_name)
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
tier_choices = list(flag_queue.TIER_CHOICES)
tiers = st.pills(
    "Tier",
    tier_choices,
    selection_mode="multi",
    default=tier_choices,
    format_func=page_text.TIER_SHORT.__getitem__,
    key=K.TIERS,
)
c1, c2 = st.columns(2)
clinician = c1.selectbox("Clinician", flag_queue.clinician_choices(groups), key=K.CLINICIAN)
age = c2.selectbox("Open for", list(flag_queue.FLAG_AGES), key=K.AGE)
shown = flag_queue.filter_events(groups, now=now, tiers=tiers, clinician=clinician, age=age)
st.caption(f"Showing {len(shown)} of {len(groups)} events.")
if not shown:
    st.info("No open event matches these filters. Clear a filter to see more.")
# One card per event: the escalations one screening raised, most urgent rule first, one closing action.
for group in shown:
    lead_id, lead = group.lead.id, group.lead
    with st.container(border=True, key=K.CARD.format(lead_id)):
        head, side = st.columns([4, 1], vertical_alignment="top")
        with head:
            level, tier_words = flag_views.tier_line(group)
            getattr(st, level)(tier_words, icon=None)
            st.markdown(flag_views.event_heading(group))
            for esc in group.escalations:
                st.markdown(flag_views.escalation_text(esc, one_of_several=len(group.escalations) > 1))
            st.caption(flag_views.opened_caption(group, now, settings.timezone))
        if side.button("Open patient", key=K.OPEN.format(lead_id), icon="📈"):
            st.session_state[keys.PATIENT_ID] = lead.patient_id
            st.switch_page("pages/progress.py", query_params={keys.PATIENT_QUERY: lead.patient_id})

        if not can_close:
            continue
        with st.form(K.CLOSE_FORM.format(lead_id), border=False):
            c1, c2 = st.columns([1, 2])
            action = c1.selectbox(
                "Action taken",
                list(CLOSE_ACTIONS),
                index=None,
                format_func=CLOSE_ACTIONS.__getitem__,
                placeholder="Choose the action taken",
                key=K.CLOSE_ACTION.format(lead_id),
            )
            action_error = c1.empty()
            detail = c2.text_input(
                "Reference, reason or description",
                key=K.CLOSE_DETAIL.format(lead_id),
                help=flag_views.CLOSE_DETAIL_HELP,
            )
            detail_error = c2.empty()
            submitted = st.form_submit_button(
                flag_views.close_button_label(group), key=K.CLOSE_SUBMIT.format(lead_id)
            )
            general_error = st.empty()
        if submitted:
            try:
                flag_views.check_close_detail(detail)
                services.close_escalation_group(
                    store, user, group.versions, action=action or "", detail=detail
                )
            except InvalidInputError as exc:
                show_errors(exc, {"close_action": action_error, "close_detail": detail_error}, general_error)
            except StrideError as exc:
                general_error.error(md_escape(str(exc)))
            else:
                st.session_state[K.FLASH] = flag_views.closed_flash(group, action or "")
                st.rerun()

        # Closing as an urgent referral with its letter as the evidence (clinical-reference §13).
        # The defaults (now) are set once in session state, so a rerun never moves them.
        told_on_default, told_at_default = flag_views.referral_told_defaults(now, settings.timezone)
        st.session_state.setdefault(K.REFER_ON.format(lead_id), told_on_default)
        st.session_state.setdefault(K.REFER_AT.format(lead_id), told_at_default)
        with (
            st.expander(flag_views.referral_label(group)),
            st.form(K.REFER_FORM.format(lead_id), border=False),
        ):
            recipient = st.radio(
                "Letter to",
                list(RECIPIENTS),
                index=None,
                format_func=RECIPIENTS.__getitem__,
                horizontal=True,
                key=K.REFER_TO.format(lead_id),
            )
            slots = {"recipient": st.empty()}
            told = st.text_area(
                "What the patient was told",
                key=K.REFER_TOLD.format(lead_id),
                help="The safety-netting advice you gave, printed in the letter as you write it.",
            )
            slots["told"] = st.empty()
            c1, c2 = st.columns(2)
            first, last = page_text.ANY_DATE
            told_on = c1.date_input(
                "Told on",
                min_value=first,
                max_value=last,
                key=K.REFER_ON.format(lead_id),
                format="YYYY-MM-DD",
            )
            told_time = c2.time_input("At", key=K.REFER_AT.format(lead_id), step=60)
            slots["told_at"] = st.empty()
            reference = st.text_input("Reference (optional)", key=K.REFER_REF.format(lead_id))
            slots["reference"] = st.empty()
            sent = st.form_submit_button("Close and write the letter", key=K.REFER_SUBMIT.format(lead_id))
            letter_error = st.empty()
        if sent:
            fields = flag_views.referral_fields(
                recipient, told, told_on, told_time, reference, settings.timezone
            )
            try:
                letter, _ = letter_services.refer_with_letter(
                    store,
                    user,
                    group.patient.saved_id,
                    group.versions,
                    settings=settings,
                    render=letter_pdf.render,
                    **fields,
                )
            except InvalidInputError as exc:
                show_errors(exc, slots, letter_error)
            except StrideError as exc:
                letter_error.error(md_escape(str(exc)))
            else:
                st.session_state[K.FLASH] = flag_views.referred_flash(group, letter.recipient)
                st.session_state[K.LETTER] = (group.patient.saved_id, letter.id)
                st.rerun()
