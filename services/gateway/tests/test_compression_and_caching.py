"""The page and its assets are cached by version and revalidated by ETag; answers over 1 KB are
gzipped (behind the security headers, and kept answers too), Excel files and small answers are not;
the chart library is the `plotly` package's plotly.js, served like the page's own assets.
(That the live stream is never compressed: `test_live.py`.)"""

from __future__ import annotations

import hashlib
import re

from tidemark_gateway.entrypoints.routes.ui import ASSETS, IMMUTABLE, REVALIDATE, chart_library_path, static_text
from tidemark_gateway.testing import Gateway, kept_answers

GZIP = {"Accept-Encoding": "gzip"}
PLAIN = {"Accept-Encoding": "identity"}


def version_of(name: str) -> str:
    return hashlib.sha256(static_text(name).encode()).hexdigest()[:16]


async def test_the_page_names_each_asset_by_its_version_and_a_versioned_asset_is_cached_for_a_year(
    gateway: Gateway,
) -> None:
    page = await gateway.client.get("/")
    named = dict(re.findall(r'"/static/([a-z.]+)\?v=([0-9a-f]+)"', page.text))

    assert named == {name: version_of(name) for name in ASSETS}
    for name, version in named.items():
        response = await gateway.client.get(f"/static/{name}", params={"v": version})
        assert response.status_code == 200
        assert response.headers["cache-control"] == IMMUTABLE == "public, max-age=31536000, immutable"
        assert response.text == static_text(name)


async def test_the_page_and_an_unversioned_or_stale_asset_are_revalidated_by_etag(gateway: Gateway) -> None:
    page = await gateway.client.get("/")
    again = await gateway.client.get("/", headers={"If-None-Match": page.headers["etag"]})
    asset = await gateway.client.get("/static/app.css")
    stale = await gateway.client.get("/static/app.css", params={"v": "0123456789abcdef"})
    unchanged = await gateway.client.get("/static/app.css", headers={"If-None-Match": f'"x", {asset.headers["etag"]}'})
    changed = await gateway.client.get("/static/app.css", headers={"If-None-Match": 'W/"0123456789abcdef"'})

    assert page.headers["cache-control"] == REVALIDATE == "no-cache"
    assert re.fullmatch(r'W/"[0-9a-f]{16}"', page.headers["etag"])
    assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", page.headers["etag"])
    assert "content-security-policy" in again.headers
    assert asset.headers["etag"] == f'W/"{version_of("app.css")}"'
    assert asset.headers["cache-control"] == stale.headers["cache-control"] == "no-cache"
    assert (unchanged.status_code, unchanged.content) == (304, b"")
    assert (changed.status_code, changed.text) == (200, static_text("app.css"))


async def test_answers_over_1_kb_are_gzipped_under_the_security_headers_and_small_ones_are_not(
    gateway: Gateway,
) -> None:
    script = await gateway.client.get("/static/app.js", headers=GZIP)
    plain = await gateway.client.get("/static/app.js", headers=PLAIN)
    health = await gateway.client.get("/healthz", headers=GZIP)

    assert script.headers["content-encoding"] == "gzip"
    assert int(script.headers["content-length"]) < len(static_text("app.js").encode()) / 2
    assert script.text == static_text("app.js")  # httpx has decompressed it
    assert "Accept-Encoding" in script.headers["vary"]
    assert script.headers["content-security-policy"].startswith("default-src 'none'")
    assert "content-encoding" not in plain.headers
    assert plain.text == static_text("app.js")
    assert (health.status_code, "content-encoding" in health.headers) == (200, False)


async def test_a_kept_report_answer_is_gzipped_as_the_routes_and_an_excel_file_is_not(gateway: Gateway) -> None:
    for school in [f"S{number}" for number in range(1, 41)]:
        await gateway.seed.school(school, f"School number {school}")
        await gateway.seed.counts("2025/26", "AUT1", "reading", school, at=3, below=1)
    query = {"academic_year": "2025/26", "period": "AUT1", "measure": "reading", "by": "school"}
    headers = {"Authorization": "Bearer viewer", **GZIP}
    first = await gateway.client.get("/v1/reports/attainment", params=query, headers=headers)
    served = kept_answers(gateway.app).served
    kept = await gateway.client.get("/v1/reports/attainment", params=query, headers=headers)
    excel = await gateway.client.get("/v1/reports/attainment", params={**query, "format": "xlsx"}, headers=headers)

    assert len(first.content) > 1024
    assert first.headers["content-encoding"] == kept.headers["content-encoding"] == "gzip"
    assert kept_answers(gateway.app).served == served + 1  # answered by KeptAnswers, not the route
    assert kept.json() == first.json()
    assert len(first.json()["rows"]) == 40
    assert excel.status_code == 200
    assert "content-encoding" not in excel.headers
    assert excel.content.startswith(b"PK")  # a zip archive, as it was written


async def test_the_chart_library_is_the_plotly_packages_bundle_served_gzipped_and_cached_by_its_version(
    gateway: Gateway,
) -> None:
    page = await gateway.client.get("/")
    named = re.search(r'data-charts="/static/plotly\.min\.js\?v=([0-9a-f]{16})"', page.text)
    assert named is not None and named[1] == version_of("plotly.min.js")

    zipped = await gateway.client.get("/static/plotly.min.js", params={"v": named[1]}, headers=GZIP)
    again = await gateway.client.get("/static/plotly.min.js", params={"v": named[1]}, headers=GZIP)
    plain = await gateway.client.get("/static/plotly.min.js", params={"v": named[1]}, headers=PLAIN)
    unchanged = await gateway.client.get("/static/plotly.min.js", headers={**GZIP, "If-None-Match": zipped.headers["etag"]})

    bundle = chart_library_path().read_bytes()
    assert chart_library_path().parts[-3:] == ("plotly", "package_data", "plotly.min.js")
    assert bundle.startswith(b"/**\n* plotly.js v")
    assert (zipped.status_code, zipped.headers["cache-control"], zipped.headers["content-encoding"]) == (200, IMMUTABLE, "gzip")
    assert int(zipped.headers["content-length"]) < len(bundle) / 3  # about 1.5 MB of 4.8 MB
    assert zipped.content == again.content == plain.content == bundle  # httpx has decompressed the gzipped ones
    assert "Accept-Encoding" in zipped.headers["vary"]
    assert zipped.headers["content-type"] == "text/javascript; charset=utf-8"
    assert "content-encoding" not in plain.headers
    assert (unchanged.status_code, unchanged.content) == (304, b"")


async def test_the_page_holds_every_mark_that_keeps_plotly_js_from_inserting_an_inline_style(gateway: Gateway) -> None:
    """The page's Content-Security-Policy refuses inline styles: plotly.js adds none when its style
    element is marked `no-inline-styles`, and its bundled maplibre none when an element has the id its
    guard looks for. A new plotly release with another such guard fails here, before a browser does."""
    page = (await gateway.client.get("/")).text
    bundle = static_text("plotly.min.js")
    guarded = re.findall(r'if\(!document\.getElementById\("([^"]+)"\)\)\{var \w+=document\.createElement\("style"\)', bundle)

    assert guarded and all(f'id="{name}"' in page for name in guarded)
    assert 'id="plotly.js-style-global" class="no-inline-styles"' in page
    assert bundle.count('createElement("style")') == len(guarded) + 1  # the one more: plotly's own, marked above
