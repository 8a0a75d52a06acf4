import datetime as dt
from collections.abc import Callable
from functools import partial

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from dashboard import flag_queue, flag_views, letter_services, letters, page_text, progress_views, services
from dashboard import page_keys as keys
from dashboard.choice_box import coded_choice
from dashboard.escalation_services import EscalationGroup
from dashboard.form_errors import errors_by_field
from dashboard.letters import RECIPIENTS
from dashboard.models import CLOSE_ACTIONS
from dashboard.page_context import page_context
from dashboard.ports import StrideError
from dashboard.presenters import DECISION_SUPPORT
from dashboard.safe_text import md_escape
from reports import letters as letter_pdf

K = keys.Flags
# A deep link as the very first request after a restart can run this script before the router
# (Streamlit's pages/ fallback); send it through app.py, which holds the login gate.
if (ctx := page_context(st.session_state, st.query_params)) is None:
    st.switch_page("app.py")
    st.stop()
store, user, settings, now = ctx.store, ctx.user, ctx.settings, dt.datetime.now(dt.UTC)


def submit(close: Callable[[], str], slots: dict[str, DeltaGenerator], general: DeltaGenerator) -> None:
    """Close the event: its message is shown after the rerun; a refusal's messages at their fields."""
    try:
        st.session_state[K.FLASH] = close()
    except StrideError as exc:
        for field, message in errors_by_field(exc, slots).items():
            slots.get(field, general).error(md_escape(message))
    else:
        st.rerun()


def event_card(group: EscalationGroup) -> None:
    """The event's tier, patient and rules (reason, action, timeframe each), and a way to the patient."""
    head, side = st.columns([4, 1], vertical_alignment="top")
    level, tier_words = flag_views.tier_line(group)
    getattr(head, level)(tier_words, icon=None)
    for text in flag_views.event_texts(group):
        head.markdown(text)
    head.caption(flag_views.opened_caption(group, now, settings.timezone))
    if side.button("Open patient", key=K.OPEN.format(group.lead.id), icon="📈"):
        st.session_state[keys.PATIENT_ID] = group.lead.patient_id
        st.switch_page("pages/progress.py", query_params={keys.PATIENT_QUERY: group.lead.patient_id})


def close_form(group: EscalationGroup) -> None:
    """Close every escalation of the event with the action taken and its reference or reason."""
    lead_id = group.lead.id
    with st.form(K.CLOSE_FORM.format(lead_id), border=False):
        c1, c2 = st.columns([1, 2])
        choice = coded_choice(CLOSE_ACTIONS, "Choose the action taken")
        action = c1.selectbox("Action taken", **choice, key=K.CLOSE_ACTION.format(lead_id))
        slots = {"close_action": c1.empty()}
        detail_key, detail_help = K.CLOSE_DETAIL.format(lead_id), flag_views.CLOSE_DETAIL_HELP
        detail = c2.text_input("Reference, reason or description", key=detail_key, help=detail_help)
        slots["close_detail"] = c2.empty()
        submitted = st.form_submit_button(
            flag_views.close_button_label(group), key=K.CLOSE_SUBMIT.format(lead_id)
        )
        general = st.empty()

    def close() -> str:
        flag_views.check_close_detail(detail)
        services.close_escalation_group(store, user, group.versions, action=action or "", detail=detail)
        return flag_views.closed_flash(group, action or "")

    if submitted:
        submit(close, slots, general)


def referral_form(group: EscalationGroup) -> None:
    """Close the event as an urgent referral, with its letter as the evidence (clinical-reference §13)."""
    lead_id = group.lead.id
    told_on_default, told_at_default = flag_views.referral_told_defaults(now, settings.timezone)
    st.session_state.setdefault(K.REFER_ON.format(lead_id), told_on_default)  # set once: a rerun never
    st.session_state.setdefault(K.REFER_AT.format(lead_id), told_at_default)  # moves them
    with st.expander(flag_views.referral_label(group)), st.form(K.REFER_FORM.format(lead_id), border=False):
        recipient = st.radio(
            "Letter to",
            list(RECIPIENTS),
            index=None,
            format_func=RECIPIENTS.__getitem__,
            horizontal=True,
            key=K.REFER_TO.format(lead_id),
        )
        slots = {"recipient": st.empty()}
        told_key, told_help = K.REFER_TOLD.format(lead_id), flag_views.TOLD_HELP
        told = st.text_area("What the patient was told", key=told_key, help=told_help)
        slots["told"] = st.empty()
        c1, c2 = st.columns(2)
        first, last = page_text.ANY_DATE
        on_key = K.REFER_ON.format(lead_id)
        told_on = c1.date_input("Told on", min_value=first, max_value=last, key=on_key, format="YYYY-MM-DD")
        told_time = c2.time_input("At", key=K.REFER_AT.format(lead_id), step=60)
        slots["told_at"] = st.empty()
        reference = st.text_input("Reference (optional)", key=K.REFER_REF.format(lead_id))
        slots["reference"] = st.empty()
        sent = st.form_submit_button("Close and write the letter", key=K.REFER_SUBMIT.format(lead_id))
        general = st.empty()

    def refer() -> str:
        fields = flag_views.referral_fields(recipient, told, told_on, told_time, reference, settings.timezone)
        pid, render = group.patient.saved_id, letter_pdf.render
        letter, _ = letter_services.refer_with_letter(
            store, user, pid, group.versions, settings=settings, render=render, **fields
        )
        st.session_state[K.LETTER] = (pid, letter.id)
        return flag_views.referred_flash(group, letter.recipient)

    if sent:
        submit(refer, slots, general)


st.title("Red flags")
st.caption(
    "Open escalations across the caseload, most urgent and oldest first. The rules one screening raised "
    "together are one event: one card, closed with one action."
)
if flash := st.session_state.pop(K.FLASH, None):
    st.success(flash)
# The referral letter just written, offered once more for download (the stored bytes, audited).
if given := st.session_state.get(K.LETTER):
    try:
        letter = letter_services.stored_letter(store, user, *given)
    except StrideError:
        st.session_state.pop(K.LETTER, None)
    else:
        copy = partial(progress_views.letter_copy, store, user, given[0], letter.pdf)
        file_name = letters.letter_file_name(letter, settings.timezone)
        st.download_button(data=copy, **flag_views.LETTER_DOWNLOAD.button(K.LETTER_DOWNLOAD, file_name))
try:
    groups = services.open_escalation_groups(store, user)
except StrideError as exc:
    st.error(md_escape(str(exc)))
    st.stop()
if not groups:
    st.info("No open escalations.")
    st.caption(DECISION_SUPPORT)
    st.stop()
st.markdown(flag_views.queue_summary(groups))
st.caption(DECISION_SUPPORT)
if not (can_close := ctx.can("write_clinical")):
    st.caption("Your role can view escalations but not close them.")

# Not an st.fragment: the cards' forms write, and a fragment's rerun skips the router's login checks.
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
st.caption(flag_views.showing_caption(shown, groups))
if not shown:
    st.info("No open event matches these filters. Clear a filter to see more.")
# One card per event: the escalations one screening raised, most urgent rule first, one closing action.
for group in shown:
    with st.container(border=True, key=K.CARD.format(group.lead.id)):
        event_card(group)
        if can_close:
            close_form(group)
            referral_form(group)
