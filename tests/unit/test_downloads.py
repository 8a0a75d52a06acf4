"""Download buttons are described once and never rerun the page."""

from dashboard.downloads import CSV, Download


def test_a_download_never_reruns_the_page_and_keeps_its_key_and_name() -> None:
    args = Download("Download this table (CSV)", CSV, help="Holds names.").button("t_csv", "t.csv")
    assert args["on_click"] == "ignore"
    assert (args["key"], args["file_name"], args["mime"], args["help"]) == (
        "t_csv",
        "t.csv",
        CSV,
        "Holds names.",
    )
    assert args["type"] == "secondary"


def test_a_primary_download_is_the_primary_button() -> None:
    assert Download("Report", CSV, primary=True).button("k", "r.csv")["type"] == "primary"


def test_only_a_download_that_changes_the_page_reruns_it() -> None:
    assert Download("Handout", CSV, rerun=True).button("k", "h.pdf")["on_click"] == "rerun"
