"""Segment's own analytics.js, in Debian's chromium, sending to a real ``tailored serve``.

A page on one origin loads the vendored ``@segment/analytics-next`` UMD build
(tests/api/fixtures/analytics-next) and points it at the server, on another origin, with
``cdnURL`` alone: analytics.js fetches its project settings from Tailored, then sends its
calls there through CORS, the write key in an Authorization header and in the body. The
test then finds the page, track and identify calls in the store, stitched to one profile.
Every request the browser makes is checked to stay on 127.0.0.1 (nothing reaches Segment).
"""

from __future__ import annotations

import functools
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tailored.store import Store
from tests.api.conftest import Served

CHROMIUM = "/usr/bin/chromium"
FIXTURE = Path(__file__).parent / "fixtures" / "analytics-next" / "umd"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]

playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed")


def _need_chromium() -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is needed in CI (.ci/run installs Debian's chromium)")
        pytest.skip(f"{CHROMIUM} not installed (apt-get install -y chromium)")


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def page_origin(tmp_path: Path) -> Iterator[str]:
    """A static site on its own port: index.html and analytics.js under /analytics-next/."""
    root = tmp_path / "site"
    (root / "analytics-next").mkdir(parents=True)
    shutil.copytree(FIXTURE, root / "analytics-next" / "bundles")
    (root / "index.html").write_text(
        "<!doctype html><html><head><title>Shop</title>"
        # analytics.js loads its lazy bundles from the CDN it is told (window.analytics._cdn);
        # here that is this page's own origin, which serves the vendored folder.
        "<script>window.analytics = {_cdn: location.origin};</script>"
        '<script src="/analytics-next/bundles/index.js"></script>'
        "</head><body><h1>Shoes</h1></body></html>")
    server = ThreadingHTTPServer(("127.0.0.1", 0),
                                 functools.partial(_Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def tailored(tmp_path: Path, page_origin: str, serve: Callable[..., Served]
             ) -> tuple[str, str, str]:
    """``tailored serve`` on another port, allowing the page's origin: (url, db url, key)."""
    db = f"sqlite:///{tmp_path / 'store.db'}"
    with Store.open(db) as store:
        key = store.create_key("ingest")
    served = serve(env={"TAILORED_CORS_ORIGINS": page_origin})
    return served.url, served.db, key


SEND = """
async ({writeKey, cdnURL}) => {
  const [analytics] = await window.AnalyticsNext.AnalyticsBrowser.load(
    {writeKey, cdnURL}, {retryQueue: false});
  const page = await analytics.page("Catalog", "Shoes", {path: "/shoes"});
  const track = await analytics.track("Product Viewed", {product_id: "sku-1", price: 59.9});
  const identify = await analytics.identify("user-42", {email: "Ann@Example.com", name: "Ann"});
  return {
    anonymousId: analytics.user().anonymousId(),
    calls: [page, track, identify].map(ctx => ({
      type: ctx.event.type, messageId: ctx.event.messageId,
      delivered: !ctx.failedDelivery()})),
  };
}
"""


def test_analytics_js_page_track_identify_land_on_one_profile(
        page_origin: str, tailored: tuple[str, str, str]) -> None:
    _need_chromium()
    url, db, key = tailored
    requests: list[str] = []
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            page = browser.new_page()
            page.on("request", lambda r: requests.append(r.url))
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(page_origin + "/index.html")
            sent = page.evaluate(SEND, {"writeKey": key, "cdnURL": url})
        finally:
            browser.close()

    assert not errors
    assert [c["type"] for c in sent["calls"]] == ["page", "track", "identify"]
    assert all(c["delivered"] for c in sent["calls"]), sent
    # Settings from Tailored, calls on analytics.js's short paths, nothing anywhere else.
    assert f"{url}/v1/projects/{key}/settings" in requests
    posted = [r.removeprefix(url) for r in requests if r.startswith(url + "/v1/") and
              "/projects/" not in r]
    assert posted == ["/v1/p", "/v1/t", "/v1/i"]
    assert all(r.startswith(("http://127.0.0.1:", "data:")) for r in requests), requests

    with Store.open(db) as store:
        stats = store.stats()
        assert stats["events_by_call"] == {"identify": 1, "page": 1, "track": 1}
        person = store.profile("user-42")
        assert {"kind": "anonymous_id", "value": sent["anonymousId"]} in person["identities"]
        assert {"kind": "email", "value": "ann@example.com"} in person["identities"]
        assert person["event_count"] == 3 and person["platforms"] == ["web"]
        assert store.profile(sent["anonymousId"])["profile_id"] == person["profile_id"]
        assert stats["profiles"] == 1
