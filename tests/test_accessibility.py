"""Accessibility: axe-core (vendored, MPL-2.0) run in a real browser on the main pages.

The test fails on any serious or critical violation and saves axe's full report (every
impact level) under var/test/artifacts/ for the rest.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import REPO
from tests.test_browser import ARTIFACTS, browser, demo_site  # noqa: F401 - fixtures

pytestmark = [pytest.mark.slow]
AXE = (REPO / "tests" / "vendor" / "axe-core" / "axe.min.js").read_text(encoding="utf-8")
PAGES = {"search": "/", "results": "/?q=cute+puppy", "browse": "/?q=", "login": "/accounts/login/"}


def _violations(page) -> list[dict]:  # noqa: ANN001
    page.add_script_tag(content=AXE)
    report = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return report["violations"]


@pytest.mark.parametrize(("viewport", "locale"), [((1280, 800), "en-US"), ((390, 844), "zh-CN")],
                         ids=["desktop-en", "phone-zh"])  # fmt: skip
def test_the_main_pages_have_no_serious_accessibility_violations(browser, demo_site, django_user_model,  # noqa: F811
                                                                  viewport, locale) -> None:  # fmt: skip
    from media_index.models import Item

    # bypass_csp: axe is injected as an inline script, which the site's own policy forbids.
    context = browser.new_context(locale=locale, viewport={"width": viewport[0], "height": viewport[1]},
                                  bypass_csp=True)  # fmt: skip
    page = context.new_page()
    found: dict[str, list[dict]] = {}
    for name, path in PAGES.items():
        page.goto(demo_site + path)
        found[name] = _violations(page)
    django_user_model.objects.create_user("reader", password="a-long-password-1")
    page.goto(demo_site + "/accounts/login/?next=/upload/")
    page.fill("#id_username", "reader")
    page.fill("#id_password", "a-long-password-1")
    with page.expect_navigation():
        page.click("form button[type=submit]")
    found["upload"] = _violations(page)
    picture = Item.objects.filter(kind="image").first()
    page.goto(f"{demo_site}/items/{picture.pk}/?back=%2F%3Fq%3D")  # opened from the library: "Back to results"
    found["detail"] = _violations(page)
    context.close()

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"axe-{viewport[0]}x{viewport[1]}.json").write_text(json.dumps(found, indent=2))
    serious = {
        name: [(v["id"], v["impact"], v["help"], [node["target"] for node in v["nodes"]][:5]) for v in violations
               if v["impact"] in ("serious", "critical")]
        for name, violations in found.items()
    }  # fmt: skip
    assert not any(serious.values()), json.dumps(serious, indent=1)
