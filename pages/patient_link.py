import datetime as dt
from collections.abc import Mapping
from typing import Any

import streamlit as st

from dashboard import auth, page_text, plan_link
from dashboard import checkin_services as cs
from dashboard import checkin_text as text
from dashboard import page_keys as keys
from dashboard import patient_link_views as views
from dashboard import patient_reported as pr
from dashboard.config import Settings
from dashboard.ports import Store
from dashboard.safe_text import md_escape
from reports import handout_web

# The patient's own page, reached only with a link (`/checkin?t=<token>`); it needs no account.
# Phone-first: one narrow column, large choices, plain words; nothing of the record before the
# identity check but the clinic's name.
st.set_page_config(
    page_title="Check in", page_icon="🚶", layout="centered", initial_sidebar_state="collapsed"
)
if keys.STORE not in st.session_state:  # never reached through the router (see app.py, CHECKIN_PAGE)
    st.switch_page("app.py")
    st.stop()
store: Store = st.session_state[keys.STORE]
settings: Settings = st.session_state[keys.SETTINGS]
K = keys.Checkin
token = st.query_params.get("t")
today = dt.date.today()

# Sent from this tab: the thanks (and, after an emergency answer, the instructions) stay on F5.
sent_here, was_emergency = views.sent_from_here(st.session_state, token)
if sent_here:
    st.title(md_escape(settings.clinic_name))
    if was_emergency:
        st.error(text.emergency_now(settings), icon="🚨")
    st.success(text.THANK_YOU)
    st.stop()

view = cs.open_link(store, token, settings)
if view is None:
    st.title("Stride")
    st.info(cs.closed_message(store, token))
    st.stop()
invite = view.invite
st.title(md_escape(view.clinic_name))
st.subheader(plan_link.link_title(invite.kind))

# --- identity ------------------------------------------------------------------------------------
if st.session_state.get(K.VERIFIED) != invite.id:
    with st.form(K.PREFIX + "identity"):
        birth = st.text_input("Your date of birth", placeholder="DD/MM/YYYY")
        st.caption(text.IDENTITY_HELP)  # shown, not a tooltip: a phone has no hover
        sent = st.form_submit_button("Continue", type="primary", use_container_width=True)
    if sent:
        # The browser's address slows down one client guessing across links (None when unknown).
        forwarded, trusted = st.context.headers.get("X-Forwarded-For"), settings.trust_forwarded_for
        client = auth.client_address(st.context.ip_address, forwarded, trust_forwarded_for=trusted)
        if (refused := views.verify_identity(store, token, birth, today, client=client)) is None:
            st.session_state[K.VERIFIED] = invite.id
            st.rerun()
        st.error(refused)
    st.caption(text.NOT_WATCHED)
    st.stop()

# --- the web version of the handout as given (issue 23) ---------------------------------------------
if invite.kind == "plan":
    kept = st.session_state.get(K.PLAN_HTML)
    if not kept or kept[0] != invite.id:  # read and audited once in this tab, not on every rerun
        if (page := plan_link.web_plan(store, token, handout_web.render_html)) is None:
            st.info(plan_link.NOT_AVAILABLE)
            st.stop()
        st.session_state[K.PLAN_HTML] = kept = (invite.id, page)
    st.html(kept[1])
    st.stop()

details = cs.link_details(store, token, settings)
if details is None:  # expired, revoked or used while the page was open
    st.info(cs.LINK_CLOSED)
    st.stop()
st.info(text.safety_net(settings), icon="🛟")
problems: dict[str, str] = st.session_state.get(K.PROBLEMS, {})
prefix = views.widget_prefix(invite.kind, st.session_state.get(K.SAVED_COUNT, 0))


def choose(label: str, name: str, options: Mapping[Any, str]) -> None:
    """One choice of several (value -> words shown), with its field message if the last send was refused."""
    st.radio(
        label, list(options), index=None, horizontal=True, format_func=options.__getitem__, key=prefix + name
    )
    if message := problems.get(name):
        st.error(message)


def scale(label: str, name: str) -> None:
    """A 0–10 choice with its field message (if the last send was refused)."""
    choose(label, name, {score: str(score) for score in range(11)})


def typed(label: str, name: str, placeholder: str = "") -> None:
    # No max_chars: the browser would cut a long paste silently; the server refuses it with a message.
    st.text_input(label, key=prefix + name, placeholder=placeholder)
    if message := problems.get(name):
        st.error(message)


def send(outcome: object) -> None:
    """Keep a refused send's field messages for the next run; show a closed link's message."""
    if isinstance(outcome, pr.Problems):
        st.session_state[K.PROBLEMS] = outcome.by_field
        st.rerun()
    st.session_state.pop(K.PROBLEMS, None)
    if isinstance(outcome, str):
        st.info(outcome)
        st.stop()


# --- walking diary ---------------------------------------------------------------------------------
if invite.kind == "diary":
    if st.session_state.pop(K.SAVED, None):
        st.success(text.DIARY_SAVED)
    if details.ease_back is not None:
        st.warning(details.ease_back)
    # Any date reaches the server, which refuses a future one by field (the widget would drop it).
    walk_date = st.date_input(
        "Day of the walk", today, *page_text.ANY_DATE, format="DD/MM/YYYY", key=prefix + "day"
    )
    if message := problems.get("walk_date"):
        st.error(message)
    typed("Minutes you walked", "walked_min", "for example 20")
    typed("Minutes until back or leg symptoms started (leave empty if none)", "symptom_onset_min")
    st.caption(text.PAIN_SCALE)
    scale("Pain before the walk", "pain_before_nrs")
    scale("Pain during the walk", "pain_during_nrs")
    if problems:
        st.error(text.FIX_ABOVE)
    if st.button("Save this walk", type="primary", use_container_width=True, key=K.PREFIX + "save"):
        walk = views.typed_answers(st.session_state, prefix, views.DIARY_FIELDS)
        send(cs.add_diary_entry(store, token, walk, walk_date or today, settings))
        st.session_state[K.SAVED_COUNT] = st.session_state.get(K.SAVED_COUNT, 0) + 1
        st.session_state[K.SAVED] = True
        st.rerun()
    st.markdown("**Your walks**")
    for entry in reversed(details.diary):
        light = pr.traffic_light(entry, details.thresholds)
        st.markdown(text.diary_line(entry.walk_date, entry.walked_min, pr.LIGHT_WORDS[light]))
        if entry.pain_next_morning_nrs is None and entry.walk_date < today and entry.id:
            with st.form(K.PREFIX + f"morning_{entry.id}", border=False):
                morning = st.radio("Pain the next morning", list(range(11)), index=None, horizontal=True)
                if st.form_submit_button("Add the next-morning pain"):
                    message = cs.add_next_morning_pain(
                        store, token, entry.id, morning, entry.version, settings
                    )
                    if message is None:
                        st.rerun()
                    st.error(message)
    st.stop()

# --- check-in --------------------------------------------------------------------------------------
# The answers so far (widget values are known before this run draws them): an emergency answer shows
# its instructions at once, right under the question, and is recorded now in case the form is left (§12.2).
raw = views.typed_answers(st.session_state, prefix, views.checkin_fields(details))
so_far = cs.answers_so_far(store, token, raw, settings)
emergency, tiers = cs.is_emergency(so_far.urgency), so_far.by_question
if emergency and (marker := views.early_record_due(st.session_state, invite.id, raw)):
    cs.provisional_urgency(store, token, raw, settings, record=True)
    st.session_state[K.EARLY] = marker
st.caption(text.NOT_WATCHED)
st.caption(text.PAIN_SCALE)
scale("Your back or leg pain right now", "pain_nrs")
scale("Your worst pain in the last week", "pain_worst_nrs")
st.markdown("**Walking**")
typed("Minutes you can walk before back or leg symptoms start", "walk_onset_min", "for example 10")
typed("Minutes you can walk in total", "walk_total_min", "for example 20")
st.radio(
    "What makes you stop?",
    list(pr.STOP_REASON_WORDS),
    index=None,
    format_func=pr.STOP_REASON_WORDS.__getitem__,
    key=K.PREFIX + "walk_stop_reason",
)
if details.psfs_activities:
    st.caption(text.PSFS_SCALE)
for i, activity in enumerate(details.psfs_activities):
    scale(f"How well can you do this now: {md_escape(activity)}", f"psfs_{i}")
# Licensed questionnaires only where the clinic's licence covers patient-completed use and its
# licensed wording is loaded (§12.1); Stride itself ships no wording.
for wording in details.instruments:
    st.markdown(f"**{md_escape(wording.entry.name)}**")
    for item in wording.items:
        shown = {code: md_escape(words) for code, words in item.answers}
        choose(md_escape(item.text), wording.field(item), shown)
st.markdown(f"**{pr.SYMPTOM_QUESTION_LEAD}**")
for question in pr.SYMPTOM_QUESTIONS:
    answer = st.radio(
        question.words,
        list(pr.ANSWER_WORDS),
        index=None,
        horizontal=True,
        format_func=pr.ANSWER_WORDS.__getitem__,
        key=K.PREFIX + f"symptom_{question.id}",
    )
    if tiers.get(question.id) == "EMERGENCY":
        st.error(text.emergency_now(settings), icon="🚨")
    elif tiers.get(question.id) == "URGENT" or (answer == "not_sure" and question.ces):
        st.warning(text.same_day(settings), icon="☎️")
if emergency:  # once more beside the button, so it is the last thing read before sending
    st.error(text.emergency_now(settings), icon="🚨")
if problems:
    st.error(text.FIX_ABOVE)
if st.button("Send my answers", type="primary", use_container_width=True, key=K.PREFIX + "send"):
    outcome = cs.submit_checkin(store, token, raw, settings)
    send(outcome)
    assert isinstance(outcome, cs.CheckinSubmitted)
    st.session_state[K.DONE] = (invite.token_hash, outcome.urgency)
    st.rerun()
