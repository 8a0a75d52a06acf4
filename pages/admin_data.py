"""Admin · Export and import: the whole clinic as one signed archive, and an import into an empty clinic."""

import datetime as dt
import functools
import time
from typing import cast

import streamlit as st

from dashboard import admin_views as view
from dashboard import services
from dashboard.page_context import page_context
from dashboard.page_keys import Admin as keys
from dashboard.safe_text import md_escape
from data import clinic_key, transfer
from data.store import SqlStore

# A deep link as the very first request after a restart can run this script before the router
# (Streamlit's pages/ fallback); send it through app.py, which holds the login gate. An account that is
# no admin goes there too: the router offers it only its own pages.
if (ctx := view.for_admins(page_context(st.session_state, st.query_params))) is None:
    st.switch_page("app.py")
    st.stop()
# The router opens a SqlStore; export and import need its engine (for the clinic key and the copy).
store, user = cast(SqlStore, ctx.store), ctx.user

st.title("Export and import")

st.subheader("Export the whole clinic")
st.caption(view.export_caption(clinic_key.key_source(transfer.store_url(store))))
with_hashes = st.checkbox("Include password hashes", key=keys.EXPORT_HASHES)


def export_clicked() -> None:
    st.session_state[keys.EXPORT_CLICKED_AT] = time.monotonic()


# The export is made at the click (outside the script): it exists in the server's media store only
# from then until the sweep below, never in the session. This download does rerun the page, through
# its callback, so that the sweep starts.
st.download_button(
    data=view.export_at_click(
        functools.partial(services.require, store, user, "export_clinic"),
        functools.partial(
            transfer.export_clinic_bytes, store, include_password_hashes=with_hashes, actor=user
        ),
    ),
    **view.CLINIC_EXPORT.button(keys.EXPORT_DOWNLOAD, view.export_file_name(dt.date.today()))
    | {"on_click": export_clicked},
)


@st.fragment(run_every=view.EXPORT_SWEEP_S)
def sweep_export() -> None:
    # Streamlit drops a generated download that no session refers to at the end of the second
    # script run after it was made (the first only marks it). These short fragment runs make those
    # runs happen within seconds of the click, whatever the admin does next; then they stop.
    if view.sweep_over(st.session_state.get(keys.EXPORT_CLICKED_AT, 0.0), time.monotonic()):
        st.session_state.pop(keys.EXPORT_CLICKED_AT, None)
        st.rerun()


if keys.EXPORT_CLICKED_AT in st.session_state:
    sweep_export()

st.subheader("Import into an empty clinic")
st.caption(view.IMPORT_NOTE)
upload = st.file_uploader("Stride export (.zip)", type=["zip"], key=keys.IMPORT_FILE)
dry_run = st.checkbox("Dry run (check only)", value=True, key=keys.IMPORT_DRY_RUN)
foreign = st.checkbox(
    "This archive comes from another clinic (or its signature does not match this clinic's key)",
    key=keys.IMPORT_FOREIGN,
)
if foreign:
    st.warning(view.FROM_ANOTHER_CLINIC, icon="⚠️")
if upload is not None and st.button("Check" if dry_run else "Import", key=keys.IMPORT_RUN):
    bar = st.progress(0.0, text="Checking…")

    def show_progress(fraction: float) -> None:
        bar.progress(view.progress_fraction(fraction), text="Checking…")

    try:
        services.require(store, user, "import_clinic")
        with view.uploaded_archive(upload.getvalue()) as path:
            report = transfer.import_clinic(
                store, path, dry_run=dry_run, actor=user, from_another_clinic=foreign, progress=show_progress
            )
    except Exception as exc:  # the report covers bad files; this is a refusal or the unexpected
        st.error(view.import_failure(exc))
    else:
        bar.progress(1.0, text="Done")
        (st.success if report.ok else st.error)(md_escape(report.summary()))
        if caption := view.signature_caption(report.signature, report.key_used):
            st.caption(caption)
        if report.errors:
            st.dataframe(view.import_error_rows(report.errors), hide_index=True, key=keys.IMPORT_ERRORS)
        for warning in report.warnings:
            st.warning(md_escape(warning))
