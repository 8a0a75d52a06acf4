"""The app server itself sends the anti-framing and referrer headers (server.py), proxy or not."""

from __future__ import annotations

import urllib.request

import pytest

from tests.conftest import ROOT

DOCUMENTED = (ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("path", ["/", "/patients", "/_stcore/health"])
def test_every_response_forbids_framing_and_referrers(app_server: str, path: str) -> None:
    with urllib.request.urlopen(app_server + path, timeout=30) as response:  # loopback only
        headers = response.headers
    assert headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    "header",
    [
        'X-Frame-Options "DENY"',
        "frame-ancestors 'none'",
        'Referrer-Policy "no-referrer"',
        "Content-Security-Policy",
    ],
)
def test_the_documented_proxy_sends_the_same_headers(header: str) -> None:
    assert header in DOCUMENTED
