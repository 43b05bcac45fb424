"""The search page in a real browser (Chromium driven by Playwright) over the demo collection.

Screenshots go to var/test/artifacts/ (CI keeps them as test artefacts).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from media_index.models import Item
from media_index.services.demo import demo_collection_load, demo_picture, demo_scenes
from tests import media
from tests.chromium import NoBrowser, launch
from tests.conftest import REPO
from tests.fonts import run_with_fonts_hidden

ARTIFACTS = REPO / "var" / "test" / "artifacts"
TOP = 8
DEMO_PICTURES = 160
DOG_WORDS = ("puppy", "dog", "小狗", "狗")

pytestmark = [pytest.mark.slow]

VIEWPORTS = pytest.mark.parametrize(("viewport", "locale"), [((1280, 800), "en-US"), ((390, 844), "zh-CN")],
                                    ids=["desktop-en", "phone-zh"])  # fmt: skip


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an asyncio loop running in this thread, and Django
    # then refuses ORM calls from it; the test's own ORM calls are synchronous, so
    # allowing them is safe (the documented workaround).
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        try:
            browser = launch(playwright, REPO / "var" / "test")
        except NoBrowser as error:
            pytest.fail(str(error), pytrace=False)
        yield browser
        browser.close()


RENDER_TEXT_WITHOUT_FONTS = """
import sys
from pathlib import Path
from playwright.sync_api import sync_playwright
from tests.chromium import launch
with sync_playwright() as playwright:
    browser = launch(playwright, Path(sys.argv[0]).parent)
    page = browser.new_page()
    page.set_content("<p><span id=t style='font-family:sans-serif'>cute puppy</span></p>")
    print(page.inner_text("#t"), page.evaluate("document.getElementById('t').getBoundingClientRect().width"))
    browser.close()
"""


def test_the_browser_renders_text_on_a_machine_without_fonts(tmp_path) -> None:
    """Debian's chromium comes without a font; the font from pip (tests/fonts.py) is what the
    browser tests render with when the machine has none."""
    script = tmp_path / "render_text.py"
    script.write_text(RENDER_TEXT_WITHOUT_FONTS)
    env = {**os.environ, "HOME": str(tmp_path), "XDG_DATA_DIRS": str(tmp_path), "PYTHONPATH": str(REPO)}
    result, hidden = run_with_fonts_hidden(script, cwd=REPO, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    if hidden:
        assert lines[0] == "0", "the system font folders were not hidden"
    text, width = lines[-1].rsplit(" ", 1)
    assert text == "cute puppy" and float(width) > 30


@pytest.fixture
def demo_site(transactional_db, live_server) -> str:  # noqa: ANN001
    demo_collection_load(pictures=DEMO_PICTURES, notes=40, index_now=True)
    assert not Item.objects.exclude(status=Item.Status.READY).exists()
    return live_server.url


@pytest.fixture
def page(browser, demo_site):  # noqa: ANN001, ANN201
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


def top_results(page) -> list[dict[str, str]]:  # noqa: ANN001
    cards = page.locator("#results li.result")
    return [
        {"kind": cards.nth(i).get_attribute("data-kind"), "text": cards.nth(i).inner_text().lower(),
         "meaning": cards.nth(i).locator(".signal-dense").count() > 0, "match": cards.nth(i).get_attribute("data-match")}
        for i in range(min(TOP, cards.count()))
    ]  # fmt: skip


def about_dogs(result: dict[str, str]) -> bool:
    return any(word in result["text"] for word in DOG_WORDS)


@pytest.mark.parametrize("query", ["cute puppy", "可爱的小狗"])
def test_typing_a_query_finds_puppy_pictures_and_notes(page, demo_site, query: str) -> None:
    page.goto(demo_site + "/")
    page.fill("input[name=q]", query)
    page.press("input[name=q]", "Enter")
    page.wait_for_selector("#results")

    results = top_results(page)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"results-{'en' if query.isascii() else 'zh'}.png"), full_page=True)
    # A dog picture found by its meaning (the badge), not only by its title, beside dog notes.
    assert any(r["kind"] == "image" and about_dogs(r) and r["meaning"] for r in results), results
    assert any(r["kind"] == "note" and about_dogs(r) for r in results), results
    assert page.locator("#demo-note").is_visible()
    labels = page.locator("#results .match")
    assert labels.count() >= 1 and labels.first.is_visible()
    assert labels.first.inner_text() in ("strong match", "good match")


# The showcase queries: (query, concept key, colour the object must have or None).
SHOWCASE_QUERIES = [("cute puppy", "dog", None), ("可爱的小狗", "dog", None), ("a red car", "car", "red"),
                    ("红色的汽车", "car", "red"), ("a penguin", "penguin", None), ("西瓜", "watermelon", None),
                    ("a bus", "bus", None)]  # fmt: skip


def _shows(item_id: str, key: str, colour: str | None) -> bool:
    """Whether demo picture ``item_id`` shows concept ``key`` (in ``colour``): from what the
    collection drew, not from the picture's title."""
    name = Item.objects.get(pk=int(item_id)).original_name  # "demo-0007.png"
    scene = demo_scenes(DEMO_PICTURES)[int(name.removeprefix("demo-").removesuffix(".png"))]
    _, colours = demo_picture(scene)
    return any(concept.key == key and (colour is None or drawn == colour)
               for concept, drawn in zip(scene.concepts, colours))  # fmt: skip


@pytest.mark.parametrize(("query", "key", "colour"), SHOWCASE_QUERIES, ids=[q for q, _, _ in SHOWCASE_QUERIES])
def test_the_showcase_queries_find_their_pictures_by_meaning_in_the_top_five(page, demo_site, query: str, key: str,
                                                                             colour: str | None) -> None:  # fmt: skip
    page.goto(demo_site + "/")
    page.fill("input[name=q]", query)
    # "Meaning only": the titles ("Car · 汽车") cannot carry the match, only the model can.
    page.click("details.filters > summary")
    page.select_option("select[name=mode]", "dense")
    with page.expect_navigation():
        page.press("input[name=q]", "Enter")
    page.wait_for_selector("#results")
    assert "mode=dense" in page.url
    cards = page.locator("#results li.result")
    top = [(cards.nth(i).get_attribute("data-kind"), cards.nth(i).get_attribute("data-item-id"))
           for i in range(min(5, cards.count()))]  # fmt: skip
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"showcase-{key}-{'en' if query.isascii() else 'zh'}.png"), full_page=True)

    pictures = [item_id for kind, item_id in top if kind == "image"]
    right = [item_id for item_id in pictures if _shows(item_id, key, colour)]
    # The first picture is right, and so are most pictures in the top five.
    assert pictures and pictures[0] in right, (query, top)
    assert len(right) * 2 > len(pictures), (query, top, right)


def test_nonsense_says_nothing_matched_and_offers_the_closest_items(page, demo_site) -> None:
    page.goto(demo_site + "/?q=qwzx")

    message = page.locator("#no-results")
    assert message.is_visible() and "Nothing matched “qwzx” closely." in message.inner_text()
    assert page.locator("#results").count() == 0
    page.click("#show-weaker")
    page.wait_for_selector("#weaker-results")
    page.screenshot(path=str(ARTIFACTS / "nothing-matched.png"), full_page=True)
    assert page.locator("#weaker").is_visible()  # the divider with its label
    assert set(page.locator("#weaker-results li.result").evaluate_all("cards => cards.map(c => c.dataset.match)")) \
        == {"weak"}


def test_match_levels_are_worded_in_chinese(page, demo_site) -> None:
    page.goto(demo_site + "/")
    with page.expect_navigation():
        page.select_option("select[name=language]", "zh-hans")
    page.goto(demo_site + "/?q=" + "可爱的小狗")

    labels = page.locator("#results .match").all_inner_texts()
    page.screenshot(path=str(ARTIFACTS / "results-zh-levels.png"), full_page=True)
    assert labels and set(labels) <= {"强匹配", "较好匹配"}, labels


@VIEWPORTS
def test_a_picture_as_the_query_returns_puppy_pictures_first_and_can_be_refined(browser, demo_site, tmp_path,
                                                                                viewport, locale) -> None:  # fmt: skip
    from media_index.synthetic.concepts import CONCEPTS
    from media_index.synthetic.render import render_picture

    dog = next(concept for concept in CONCEPTS if concept.key == "dog")
    picture = tmp_path / "my-puppy.png"
    render_picture([dog], seed=424242, size=192).save(picture)
    width, height = viewport
    context = browser.new_context(locale=locale, viewport={"width": width, "height": height})
    page = context.new_page()
    page.goto(demo_site + "/")
    page.set_input_files("#image-input", str(picture))  # the page submits on change
    page.wait_for_selector("#results")

    results = top_results(page)
    shown = page.locator("#query-picture img").evaluate("img => img.complete && img.naturalWidth > 0")
    link = page.url
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"results-picture-{width}x{height}.png"), full_page=True)
    # Words refine the same picture; the address still names it.
    page.fill("#refine input[name=q]", "on grass")
    with page.expect_navigation():
        page.press("#refine input[name=q]", "Enter")
    page.wait_for_selector("#results")
    refined_url, refined_shown = page.url, page.locator("#query-picture").is_visible()
    context.close()

    # The first picture is a dog. (Picture-to-picture is the OpenMoji demo model's weakest
    # skill, P@5 0.49 over its corpus: a kitten may come second.)
    pictures = [r for r in results if r["kind"] == "image"][:3]
    assert pictures and about_dogs(pictures[0]), results
    assert shown and "iq=" in link
    assert link.split("iq=")[1][:32] in refined_url and "q=on+grass" in refined_url and refined_shown


def test_switching_to_chinese_changes_the_interface(page, demo_site) -> None:
    page.goto(demo_site + "/")
    assert "Search your pictures and notes" in page.content()

    with page.expect_navigation():
        page.select_option("select[name=language]", "zh-hans")  # submits the language form on change

    assert "搜索你的图片和笔记" in page.content()
    assert page.locator("html").get_attribute("lang") == "zh-hans"


def test_an_unreadable_picture_gets_a_friendly_message(page, demo_site, tmp_path) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(media.corrupt_image())
    page.goto(demo_site + "/")
    page.set_input_files("#image-input", str(broken))
    page.wait_for_selector("#search-error")

    assert "not a picture in a supported format" in page.inner_text("#search-error")


def test_search_works_without_javascript(browser, demo_site) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(demo_site + "/?q=pizza")

    results = top_results(page)
    context.close()
    assert any("pizza" in r["text"] or "披萨" in r["text"] for r in results), results


def test_pages_work_under_the_content_security_policy(browser, demo_site, django_user_model) -> None:
    """Only the site's own scripts, styles and images: the pages, the admin and the API docs
    must work without a single policy violation (an inline script or style would be one)."""
    django_user_model.objects.create_superuser("ops", password="a-long-admin-password")
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    violations: list[str] = []
    page.on("console", lambda message: violations.append(f"{page.url}: {message.text}")
            if "Content Security Policy" in message.text else None)  # fmt: skip

    headers = []
    for path in ("/", "/?q=puppy", "/api/v1/docs/"):
        headers.append(page.goto(demo_site + path).headers.get("content-security-policy", ""))
    page.wait_for_selector(".swagger-ui .info", timeout=15_000)  # the docs' script ran
    page.goto(demo_site + "/admin/login/")
    page.fill("#id_username", "ops")
    page.fill("#id_password", "a-long-admin-password")
    with page.expect_navigation():
        page.click("input[type=submit]")
    page.goto(demo_site + "/admin/media_index/item/")
    page.wait_for_selector("#result_list")
    context.close()

    assert all("script-src 'self'" in header for header in headers), headers
    assert violations == []


@VIEWPORTS
def test_browsing_the_library_shows_a_grid_under_day_headers(browser, demo_site, viewport, locale) -> None:
    context = browser.new_context(locale=locale, viewport={"width": viewport[0], "height": viewport[1]})
    page = context.new_page()
    page.goto(demo_site + "/")
    with page.expect_navigation():
        page.click("#nav-browse")
    page.wait_for_selector("#browse")

    headers = page.locator(".day-header").all_inner_texts()
    cards = page.locator("#browse li.result")
    count, first_box = cards.count(), cards.first.bounding_box()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"browse-{viewport[0]}x{viewport[1]}.png"), full_page=False)
    context.close()

    assert headers and all(text.strip() for text in headers)
    assert count >= 24
    assert first_box is not None and first_box["width"] > 100


def _sign_in(page, url: str, username: str, password: str, submit: str) -> None:  # noqa: ANN001
    """Sign in on the login page at ``url`` (the site's or the admin's) and follow it."""
    page.goto(url)
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    with page.expect_navigation():
        page.click(submit)


@VIEWPORTS
def test_the_upload_page_shows_items_turning_ready_without_a_reload(browser, live_server, django_user_model,
                                                                     tmp_path, viewport, locale) -> None:  # fmt: skip
    from devstack import stop_process
    from searchsite.celery import app
    from tests.conftest import start_worker

    app.control.purge()
    django_user_model.objects.create_user("uploader", password="a-long-password-1")
    pictures = []
    for index, colour in enumerate(("red", "green", "blue")):
        path = tmp_path / f"photo-{index}.png"
        path.write_bytes(media.image_bytes(colour, size=(160, 120)))
        pictures.append(str(path))
    # bypass_csp: Playwright's wait_for_function polls with eval, which the site's policy forbids.
    width, height = viewport
    context = browser.new_context(locale=locale, viewport={"width": width, "height": height}, bypass_csp=True)
    page = context.new_page()
    _sign_in(page, live_server.url + "/accounts/login/?next=/upload/", "uploader", "a-long-password-1",
             "form button[type=submit]")  # fmt: skip
    page.set_input_files("#id_up-files", pictures)
    with page.expect_navigation():
        page.click("section.card form[enctype] button[type=submit]")
    # No worker yet: the three wait, and the page says so.
    waiting = page.locator("td.status[data-status=pending]").count()
    page.evaluate("window.sameDocument = true")

    worker, _ = start_worker(tmp_path / "worker.log")
    try:
        page.wait_for_function("document.querySelectorAll('td.status[data-status=ready]').length === 3",
                               timeout=120_000)  # fmt: skip
        done_text = "3 of 3 ready" if locale == "en-US" else "已就绪 3 / 3"
        page.wait_for_function(f"document.querySelector('#index-progress span').textContent === '{done_text}'")
        still_same_page = page.evaluate("window.sameDocument === true")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"upload-progress-{width}x{height}.png"), full_page=True)
    finally:
        stop_process(worker)
        context.close()

    assert waiting == 3
    assert still_same_page


@VIEWPORTS
def test_a_picture_opens_in_a_lightbox_with_arrows_esc_and_back(browser, demo_site, viewport, locale) -> None:
    width, height = viewport
    context = browser.new_context(locale=locale, viewport={"width": width, "height": height})
    page = context.new_page()
    page.goto(demo_site + "/?q=")
    results_url = page.url
    first = page.locator("#browse li.result[data-full]").first
    first_id = first.get_attribute("data-item-id")

    first.locator("a.preview").click()
    page.wait_for_selector("#lightbox[open]")
    opened = (page.url, page.locator("#lightbox").get_attribute("data-item-id"),
              page.locator("#lightbox-image").evaluate("img => img.complete && img.naturalWidth > 0"))  # fmt: skip
    image_box = page.locator("#lightbox-image").bounding_box()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"lightbox-{width}x{height}.png"))
    page.keyboard.press("ArrowRight")
    after_arrow = page.locator("#lightbox").get_attribute("data-item-id")
    page.keyboard.press("Escape")
    page.wait_for_selector("#lightbox:not([open])", state="attached")
    after_esc = page.url

    first.locator("a.preview").click()
    page.wait_for_selector("#lightbox[open]")
    page.go_back()
    page.wait_for_selector("#lightbox:not([open])", state="attached")
    after_back = page.url

    # A link to a picture in the lightbox, opened in another tab, shows it over its page,
    # and Back closes it onto that page.
    shared = context.new_page()
    shared.goto(f"{results_url}#view-{after_arrow}")
    shared.wait_for_selector("#lightbox[open]")
    linked = shared.locator("#lightbox").get_attribute("data-item-id")
    shared.go_back()
    shared.wait_for_selector("#lightbox:not([open])", state="attached")
    linked_closed_on = shared.url
    context.close()

    assert opened[0].endswith(f"#view-{first_id}") and opened[1] == first_id and opened[2]
    assert image_box is not None and image_box["width"] <= width and image_box["height"] <= height
    assert after_arrow != first_id
    assert after_esc == results_url and after_back == results_url
    assert linked == after_arrow and linked_closed_on == results_url


@VIEWPORTS
def test_the_library_loads_more_as_it_scrolls_and_an_item_leads_back_to_it(browser, demo_site, viewport,
                                                                           locale) -> None:  # fmt: skip
    from media_index.views import BROWSE_PAGE_SIZE

    width, height = viewport
    context = browser.new_context(locale=locale, viewport={"width": width, "height": height})
    page = context.new_page()
    page.goto(demo_site + "/?q=")
    browse_url = page.url
    page.evaluate("window.sameDocument = true")
    first_count = page.locator("#browse li.result").count()

    # Scrolled to the end: the next page joins this one (no navigation), in the same groups.
    page.locator("#load-more").scroll_into_view_if_needed()
    # (No wait_for_function: it evaluates strings, which the site's policy forbids; this
    # test keeps the policy on, so browse.js is checked under it too.)
    page.locator("#browse li.result").nth(BROWSE_PAGE_SIZE).wait_for(timeout=30_000)
    page.wait_for_selector("#load-more[aria-busy]", state="detached")
    grown = page.locator("#browse li.result").count()
    months = page.locator("#browse section.month").evaluate_all("sections => sections.map(s => s.dataset.month)")
    days = page.locator("#browse div.day").evaluate_all("days => days.map(d => d.dataset.day)")
    ids = page.locator("#browse li.result").evaluate_all("cards => cards.map(c => c.dataset.itemId)")
    same_document = page.evaluate("window.sameDocument === true")
    month_headers = page.locator(".month-header").all_inner_texts()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"browse-loaded-more-{width}x{height}.png"))

    # An item's page offers the way back to exactly this library view.
    with page.expect_navigation():
        page.locator("#browse li.result a.title").first.click()
    with page.expect_navigation():
        page.click("#back-to-results")
    back_url = page.url
    context.close()

    assert first_count == BROWSE_PAGE_SIZE and grown > first_count
    assert len(months) == len(set(months)) and len(days) == len(set(days)), (months, days)
    assert len(ids) == len(set(ids))  # no card twice
    assert same_document
    assert month_headers and all(header.strip() for header in month_headers)
    assert back_url == browse_url


@VIEWPORTS
def test_the_admins_reindex_bar_moves_while_the_worker_embeds(browser, live_server, django_user_model,
                                                              tmp_path, viewport, locale) -> None:  # fmt: skip
    from devstack import stop_process
    from media_index.services.demo import demo_collection_load
    from media_index.services.spaces import space_reindex_begin
    from searchsite.celery import app
    from tests.conftest import start_worker
    from tests.services.test_spaces import perturbed_demo_checkpoint

    app.control.purge()
    demo_collection_load(pictures=120, notes=8, index_now=True)
    django_user_model.objects.create_superuser("admin", password="a-long-password-1")
    # The re-index into another checkpoint is queued, one item a task (so that it lasts a
    # few polls), before any worker runs.
    space, sent = space_reindex_begin(backend="open_clip", model_name="demo-clip",
                                      pretrained=str(perturbed_demo_checkpoint(tmp_path)), batch_size=1)  # fmt: skip
    width, height = viewport
    context = browser.new_context(locale=locale, viewport={"width": width, "height": height}, bypass_csp=True)
    page = context.new_page()
    _sign_in(page, live_server.url + "/admin/login/?next=/admin/media_index/embeddingspace/", "admin",
             "a-long-password-1", "input[type=submit]")  # fmt: skip
    bar = f'.space-progress[data-space="{space.pk}"] progress'
    page.wait_for_selector(bar)
    at_start = page.eval_on_selector(bar, "bar => [bar.value, bar.max]")
    page.evaluate("window.sameDocument = true")

    worker, _ = start_worker(tmp_path / "worker.log")
    try:
        page.wait_for_function(f"(bar => bar.value > 0 && bar.value < bar.max)(document.querySelector('{bar}'))",
                               timeout=120_000)  # fmt: skip
        midway = page.eval_on_selector(bar, "bar => [bar.value, bar.max]")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"admin-reindex-progress-{width}x{height}.png"))
        page.wait_for_function(f"(bar => bar.value === bar.max)(document.querySelector('{bar}'))", timeout=180_000)
        eta = page.inner_text(f'.space-progress[data-space="{space.pk}"] .eta')
        count = page.inner_text(f'.space-progress[data-space="{space.pk}"] .count')
        same_document = page.evaluate("window.sameDocument === true")
    finally:
        stop_process(worker)
        context.close()

    assert at_start == [0, sent]
    assert 0 < midway[0] < midway[1] == sent
    english = locale == "en-US"
    assert count == (f"{sent} of {sent}" if english else f"{sent} / {sent}")
    assert eta == ("complete" if english else "已完成")
    assert same_document


def test_on_a_phone_the_first_result_is_on_the_first_screen_and_the_notice_can_go(browser, demo_site) -> None:
    context = browser.new_context(locale="en-US", viewport={"width": 390, "height": 844}, is_mobile=True,
                                  has_touch=True)  # fmt: skip
    page = context.new_page()
    page.goto(demo_site + "/?q=cute+puppy")
    first_top = page.locator("#results li.result").first.bounding_box()["y"]
    columns = len({round(box["x"]) for box in (page.locator("#results li.result").nth(i).bounding_box()
                                                for i in range(2))})  # fmt: skip
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "results-phone-390x844.png"))
    page.click("#demo-note-close")
    page.reload()
    notice_after_reload = page.locator("#demo-note").is_visible()
    # Keyboard: the skip link is the first stop in the tab order, shows when focused, and
    # Enter moves focus to the results.
    first_stop = page.evaluate("[...document.querySelectorAll('a[href], button, input, select, textarea')]"
                               ".find(e => !e.disabled && e.type !== 'hidden' && e.tabIndex >= 0).className")  # fmt: skip
    page.focus("a.skip-link")
    shown = page.locator("a.skip-link").bounding_box()["x"] >= 0
    page.keyboard.press("Enter")
    focused = page.evaluate("document.activeElement.id")
    context.close()

    assert first_top < 844, f"the first result starts at {first_top:.0f} px"
    assert columns == 2
    assert not notice_after_reload
    assert first_stop == "skip-link" and shown and focused == "main"


def test_deleting_an_item_asks_first_under_the_content_security_policy(browser, live_server, django_user_model) -> None:
    """The confirmation is a script file: an inline onsubmit would be skipped by the CSP
    and the item deleted without asking."""
    from media_index.services.uploads import item_create_note

    owner = django_user_model.objects.create_user("owner", password="a-long-password-1")
    note, _ = item_create_note(owner=owner, text="keep me unless I say so")
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text)
            if "Content Security Policy" in message.text else None)  # fmt: skip
    page.goto(live_server.url + f"/accounts/login/?next=/items/{note.pk}/")
    page.fill("#id_username", "owner")
    page.fill("#id_password", "a-long-password-1")
    with page.expect_navigation():
        page.click("form button[type=submit]")

    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.click("#delete-item button")
    page.wait_for_timeout(500)
    kept = Item.objects.filter(pk=note.pk).exists()
    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        page.click("#delete-item button")
    context.close()

    assert asked == ["Delete this item?"] and kept
    assert not Item.objects.filter(pk=note.pk).exists()
    assert violations == []
