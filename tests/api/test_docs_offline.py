"""/docs works offline: Swagger UI comes from the package, and the page asks for nothing else.

The browser test opens /docs of a real ``tailored serve`` in Debian's chromium with every
request that would leave 127.0.0.1 aborted, and checks the operations are drawn.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from tailored.api.app import create_app
from tailored.config import Settings
from tailored.store import Store
from tests.api.conftest import Served
from tests.api.test_analytics_js_browser import CHROMIUM, FLAGS, _need_chromium


@pytest.fixture
def client(sqlite_store: Store) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(database_url="sqlite://"), store=sqlite_store)) as c:
        yield c


def test_docs_page_references_only_assets_served_by_the_package(client: TestClient) -> None:
    html = client.get("/docs").text
    refs = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']|url:\s*'([^']+)'""", html)
    urls = [a or b for a, b in refs]
    assert urls, html
    assert not re.search(r"https?://", html), "the page names a host"
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), url
        assert client.get(url).status_code == 200, url
    assert {u.rsplit("/", 1)[1] for u in urls} >= {"swagger-ui-bundle.js", "swagger-ui.css",
                                                    "openapi.json"}


def test_swagger_ui_ships_with_its_licence_and_version(client: TestClient) -> None:
    from importlib.metadata import version

    from tailored.api.docs import _ASSETS

    assert (_ASSETS / "LICENSE").exists()
    # Swagger UI 5 (swagger-ui-py 25.x): version 4 cannot show FastAPI's OpenAPI 3.1.
    assert int(version("swagger-ui-py").split(".")[0]) >= 25
    js = client.get("/docs/assets/swagger-ui-bundle.js")
    assert js.headers["content-type"].startswith("text/javascript") and len(js.content) > 10**6


def test_redoc_which_would_need_a_cdn_is_not_served(client: TestClient) -> None:
    assert client.get("/redoc").status_code == 404


def test_docs_render_in_chromium_with_no_way_off_the_machine(
        serve: Callable[..., Served]) -> None:
    _need_chromium()
    from playwright.sync_api import sync_playwright

    served = serve()
    blocked: list[str] = []

    def only_local(route: object) -> None:
        request = route.request  # type: ignore[attr-defined]
        if request.url.startswith(served.url + "/"):
            route.continue_()  # type: ignore[attr-defined]
        else:
            blocked.append(request.url)
            route.abort()  # type: ignore[attr-defined]

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            page = browser.new_page()
            page.route("**/*", only_local)
            page.goto(served.url + "/docs")
            page.wait_for_selector(".opblock", timeout=30_000)
            operations = page.locator(".opblock").count()
            title = page.locator(".info .title").inner_text()
        finally:
            browser.close()
    assert blocked == []
    assert operations >= 20  # the Segment calls, their short paths, people, catalog, ...
    assert "Tailored" in title
