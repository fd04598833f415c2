"""The finder in a real headless Chromium: record text never runs as code, every page passes axe-core with no
serious or critical violation on a phone and a desktop viewport, the pages fit a phone, and a keyboard alone can
search and open a study with the focus visible all along."""
from __future__ import annotations

from typing import Any

import httpx
import pytest

from .conftest import HOSTILE_CRITERION, HOSTILE_TITLE, axe_violations, shot

PAGES = ["/", "/?condition=aplastic+anemia", "/?location=00000", "/?condition=no+such+thing",
         "/study/NCT01297972", "/study/NCT02210780", "/study/NCT01297972/history", "/study/NCT01297972/eligibility",
         "/eligibility?condition=anemia", "/browse", "/browse/ResearchStudy", "/browse/ResearchStudy/NCT01297972",
         "/study/NCT99999999", "/study/XSS-1"]


@pytest.mark.parametrize("path", ["/study/XSS-1", "/?q=window", "/browse/ResearchStudy/XSS-1",
                                  "/study/XSS-1/history", "/browse/Group/XSS-eligibility"])
def test_record_text_never_runs(site: Any, page: Any, path: str) -> None:
    page.goto(site.origin + path)
    page.wait_for_load_state("networkidle")
    shot(page, "hostile" + path.replace("/", "-").replace("?", "-"))
    assert page.evaluate("() => window.__pwned") is None
    assert page.errors == []  # no alert() dialog, no script error
    assert page.locator("main script, main img, main iframe, main svg, main b").count() == 0
    assert page.locator("a[href^='javascript:']").count() == 0
    if path == "/study/XSS-1":
        assert page.locator("h1").inner_text() == HOSTILE_TITLE  # shown as the text it is
        assert HOSTILE_CRITERION in page.locator("#eligibility").inner_text()


def test_pages_forbid_inline_and_foreign_scripts(site: Any) -> None:
    r = httpx.get(site.origin + "/study/XSS-1", timeout=30)
    policy = r.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "default-src 'self'" in policy
    assert "<script>window.__pwned" not in r.text and "&lt;script&gt;window.__pwned" in r.text


@pytest.mark.parametrize("viewport", ["page", "phone"])
def test_axe_finds_no_serious_violation(site: Any, request: pytest.FixtureRequest, viewport: str) -> None:
    pg = request.getfixturevalue(viewport)
    found = {}
    for path in PAGES:
        pg.goto(site.origin + path)
        pg.wait_for_load_state("networkidle")
        violations = axe_violations(pg)
        if violations:
            found[path] = violations
        # Nothing wider than the screen: a phone never scrolls sideways.
        assert pg.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth + 1"), path
    assert found == {}
    pg.goto(site.origin + "/study/NCT01297972")
    shot(pg, f"study-{viewport}")
    pg.goto(site.origin + "/?condition=aplastic+anemia")
    shot(pg, f"search-{viewport}")


def _focus_visible(pg: Any) -> bool:
    return pg.evaluate("""() => { const el = document.activeElement; const s = getComputedStyle(el);
        return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2; }""")


def test_keyboard_only_search_and_open(site: Any, page: Any) -> None:
    page.goto(site.origin + "/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to main content"
    assert _focus_visible(page)
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "f-q"
    assert _focus_visible(page)
    page.keyboard.type("mesenchymal")
    page.keyboard.press("Enter")
    page.wait_for_url("**/?q=mesenchymal*")
    # Tab on to the first result's title and open it.
    for _ in range(80):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.closest('.card') !== null"):
            break
    assert _focus_visible(page)
    shot(page, "keyboard-focus-result")
    page.keyboard.press("Enter")
    page.wait_for_url("**/study/NCT01297972")
    assert page.locator("h1").inner_text().startswith("Mesenchymal Stem Cells")


def test_eligibility_form_from_study_and_search(site: Any, page: Any) -> None:
    """The form, its checks and the call of $match, whose verdicts the page shows criterion by criterion."""
    page.goto(site.origin + "/study/NCT01297972")
    page.get_by_role("link", name="Check eligibility").click()
    page.wait_for_url("**/study/NCT01297972/eligibility")
    page.get_by_role("button", name="Check eligibility").click()
    assert "Enter the age in whole years" in page.get_by_role("alert").inner_text()
    page.get_by_label("Age in years").fill("40")
    page.get_by_label("Sex").select_option("female")
    page.get_by_label("Conditions, one a line").fill("Aplastic anemia\nHypertension")
    page.get_by_label("Hemoglobin (g/dL)").fill("8.5")
    page.get_by_label("ECOG performance status").select_option("1")
    page.get_by_role("button", name="Check eligibility").click()
    page.wait_for_load_state()
    shot(page, "eligibility-study")
    results = page.locator("#h-verdicts").locator("..").inner_text()  # $match's verdicts, in words
    assert "Diagnosis of Acquired Aplastic Anemia" in results and "Met" in results
    # a patient typed into the form has no resources to cite: no empty Evidence column
    assert page.get_by_role("columnheader").all_inner_texts()[:3] == ["Verdict", "Criterion", "Reason"]
    assert "Evidence" not in page.get_by_role("columnheader").all_inner_texts()
    page.goto(site.origin + "/?condition=aplastic+anemia")
    page.get_by_role("link", name="Check a patient's eligibility for these studies").click()
    page.wait_for_url("**/eligibility?condition=aplastic*")
    assert "aplastic anemia" in page.locator("main").inner_text()
    page.get_by_text("Or give a FHIR Bundle instead").click()
    page.get_by_label("FHIR Bundle (JSON) with one Patient and their resources").fill("{not json")
    page.get_by_role("button", name="Check eligibility").click()
    assert "The pasted text is not JSON" in page.get_by_role("alert").inner_text()
    shot(page, "eligibility-search-bad-bundle")
