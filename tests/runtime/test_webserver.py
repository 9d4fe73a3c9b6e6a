"""The static web server: only the page's files, only for this listener's Host, never framed."""

from __future__ import annotations

import http.client
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from greenroom.runtime.webserver import WebServer


@pytest.fixture(scope="module")
def server() -> Iterator[WebServer]:
    s = WebServer("127.0.0.1", 0, {"ws": "ws://127.0.0.1:1"}).start()
    yield s
    s.close()


def get(server: WebServer, path: str, host: str | None = None) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.putrequest("GET", path, skip_host=True)
    conn.putheader("Host", host or f"127.0.0.1:{server.port}")
    conn.endheaders()
    resp = conn.getresponse()
    resp.read()
    conn.close()
    return resp


class TestWebServer:
    def test_serves_the_page_and_its_config(self, server: WebServer) -> None:
        """index.html, the scripts and /config.json come back, with anti-framing headers and a CSP."""
        for path in ("/", "/app.js", "/nng.js", "/style.css", "/config.json"):
            resp = get(server, path)
            assert resp.status == 200, path
            assert resp.getheader("X-Frame-Options") == "DENY"
            assert "frame-ancestors 'none'" in (resp.getheader("Content-Security-Policy") or "")

    @pytest.mark.parametrize("path", ["/../pyproject.toml", "/..%2f..%2fetc/passwd", "/__init__.py", "/nope.js", "//etc/passwd"])
    def test_nothing_outside_the_page(self, server: WebServer, path: str) -> None:
        """Traversal, Python files and unknown paths are 404."""
        assert get(server, path).status == 404

    def test_unknown_host_is_refused(self, server: WebServer) -> None:
        """A DNS-rebound name gets 421, not the page."""
        assert get(server, "/", f"evil.example:{server.port}").status == 421

    @settings(max_examples=100, deadline=None)
    @given(path=st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=60))
    def test_any_path_resolves_inside_the_root_or_nowhere(self, server: WebServer, path: str) -> None:
        """file_for never names a file outside the page's folder."""
        target = server.file_for("/" + path)
        assert target is None or target.is_relative_to(server.root)
