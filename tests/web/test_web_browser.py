"""The web view in a real browser: Debian's headless Chromium driven through chromedriver
(scripts/ensure-chromium.sh installs both; `make test` runs it first).

One coordinator's morning on the demo home (a held payment released, a note kept on the claim,
the worklist and aging read), then what a viewer, a forged form and a wrong
password get, then the admin's audit trail naming each step. Screenshots of every page go to
the test's tmp folder (or $GATEWAY_WEB_SCREENSHOTS), to be looked at.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.wait import WebDriverWait

from gateway.config import database_url, load_settings
from gateway.daemon.runner import Daemon
from gateway.ledger.db import open_ledger
from tests.daemon.homes import read_jsonl
from tests.web.conftest import PASSWORDS, Site

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
NOTE = "payer confirmed a second payment by phone, ref 4471"
CALL = "called the payer: the second payment stands"


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    chosen = os.environ.get("GATEWAY_WEB_SCREENSHOTS")
    folder = Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def browser(shots: Path) -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--window-size=1280,900", "--disable-extensions"):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def shoot(driver: WebDriver, shots: Path, name: str) -> None:
    """A full-page screenshot (the window grown to the page's height)."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, min(max(int(height) + 140, 600), 4000))  # + the window's frame
    assert driver.save_screenshot(str(shots / f"{name}.png"))
    driver.set_window_size(1280, 900)


def go(driver: WebDriver, element: WebElement) -> None:
    """Click a link or a form's button and wait until the next page has replaced this one."""
    page = driver.find_element(By.TAG_NAME, "html")
    element.click()
    WebDriverWait(driver, 20).until(expected_conditions.staleness_of(page))


def log_in(driver: WebDriver, site: Site, user: str, password: str | None = None) -> None:
    driver.get(f"{site.url}/login")
    driver.find_element(By.ID, "username").send_keys(user)
    driver.find_element(By.ID, "password").send_keys(password or PASSWORDS[user])
    go(driver, driver.find_element(By.ID, "login"))


def log_out(driver: WebDriver) -> None:
    go(driver, driver.find_element(By.CSS_SELECTOR, "form.who button"))


def post_form(driver: WebDriver, action: str, fields: dict[str, str]) -> None:
    """Submit a form the page does not offer (what a forged or hand-made request would do)."""
    page = driver.find_element(By.TAG_NAME, "html")
    driver.execute_script(
        """const f = document.createElement('form'); f.method = 'post'; f.action = arguments[0];
        for (const [k, v] of Object.entries(arguments[1])) {
            const i = document.createElement('input'); i.type = 'hidden'; i.name = k; i.value = v;
            f.appendChild(i); }
        document.body.appendChild(f); f.submit();""",
        action,
        fields,
    )
    WebDriverWait(driver, 20).until(expected_conditions.staleness_of(page))


def _held_claim(site: Site) -> tuple[str, str]:
    """A claim with a payment held in the demo home, and its patient's last name."""
    with open_ledger(database_url(site.home, load_settings(site.home))) as ledger:
        held = ledger.held_payments()
        claim = ledger.claim(held[0].claim_id)
    assert claim is not None and claim.patient_last_name
    return claim.claim_id, claim.patient_last_name


def test_a_coordinator_finds_a_claim_and_releases_its_held_payment(
    site: Site, browser: WebDriver, shots: Path
) -> None:
    claim_id, last_name = _held_claim(site)
    browser.get(f"{site.url}/claims")  # every page is behind the login
    assert browser.current_url == f"{site.url}/login"
    log_in(browser, site, "maria", "not maria's password")
    assert "wrong user name or password" in browser.find_element(By.ID, "message").text
    shoot(browser, shots, "01-wrong-password")
    log_in(browser, site, "maria")
    assert browser.current_url == f"{site.url}/"
    assert "claim payment(s) held for review" in browser.page_source
    shoot(browser, shots, "02-needs-attention")
    # find the claim by the patient's name (a POST: the name is in no URL)
    go(browser, browser.find_element(By.LINK_TEXT, "Claims"))
    browser.find_element(By.ID, "patient").send_keys(last_name.title())
    go(browser, browser.find_element(By.ID, "find"))
    assert browser.current_url == f"{site.url}/claims"
    rows = browser.find_elements(By.CSS_SELECTOR, "#results td:first-child a")
    assert claim_id in [r.text for r in rows]
    shoot(browser, shots, "03-search")
    go(browser, browser.find_element(By.LINK_TEXT, claim_id))
    timeline = browser.find_element(By.ID, "timeline").text
    assert "queued" in timeline and "submitted" in timeline and "payment_held" in timeline
    assert "possible duplicate payment" in timeline
    shoot(browser, shots, "04-timeline")
    go(browser, browser.find_element(By.CSS_SELECTOR, "#timeline a.x12-link"))  # its 837, read
    segments = browser.find_element(By.ID, "segments").text
    assert "ISA" in segments and f"CLM {claim_id}" not in segments and "claim" in segments
    assert claim_id in segments
    shoot(browser, shots, "04b-837")
    browser.back()
    # release it with a note
    go(browser, browser.find_element(By.LINK_TEXT, "Held payments"))
    shoot(browser, shots, "05-held")
    row = browser.find_element(By.XPATH, f"//tr[td/a[text()='{claim_id}']]")
    row.find_element(By.CSS_SELECTOR, "input[name=note][aria-label='release note']").send_keys(NOTE)
    go(browser, row.find_element(By.CSS_SELECTOR, "button.release"))
    done = browser.find_element(By.ID, "done").text
    assert f"released 1 claim payment(s) ({claim_id})" in done
    assert claim_id not in [a.text for a in browser.find_elements(By.CSS_SELECTOR, "td a")]
    shoot(browser, shots, "06-released")
    # posted: the claim's page shows the payment released with its note
    browser.get(f"{site.url}/claims/{claim_id}")
    payments = browser.find_element(By.ID, "payments").text
    assert "released" in payments and NOTE in payments
    shoot(browser, shots, "07-posted")
    # a note on the claim: kept, signed, shown with the claim's explanation
    assert browser.find_element(By.ID, "explanation").text
    browser.find_element(By.CSS_SELECTOR, "#add-note textarea[name=text]").send_keys(CALL)
    go(browser, browser.find_element(By.CSS_SELECTOR, "#add-note button"))
    assert "note kept (" in browser.find_element(By.ID, "done").text
    assert f"maria note {CALL}" in browser.find_element(By.ID, "notes-table").text
    shoot(browser, shots, "07b-note")
    # the follow-up: the worklist, then aging, from the menu
    go(browser, browser.find_element(By.LINK_TEXT, "Worklist"))
    work = browser.find_elements(By.CSS_SELECTOR, "#worklist tr.item")
    assert work or browser.find_elements(By.ID, "worklist-empty")
    shoot(browser, shots, "07c-worklist")
    go(browser, browser.find_element(By.LINK_TEXT, "Aging"))
    assert browser.find_element(By.ID, "aging-chart") and browser.find_element(By.ID, "aging-total")
    shoot(browser, shots, "07d-aging")
    daemon = Daemon(site.home)  # and the daemon's next cycle writes its posting for the practice
    try:
        daemon.cycle(once=True)
    finally:
        daemon.ledger.close()
    released = [p for p in read_jsonl(site.home / "spool" / "postings")
                if p.get("released_after_review")]  # fmt: skip
    assert [(p["claim_id"], p["review_note"]) for p in released] == [(claim_id, NOTE)]
    log_out(browser)
    assert browser.current_url == f"{site.url}/login"


def test_a_viewer_cannot_release_and_a_form_without_its_token_is_refused(
    site: Site, browser: WebDriver, shots: Path
) -> None:
    claim_id, _ = _held_claim(site)
    log_in(browser, site, "sam")
    # the payments received: read-only, each opening its 835 (with its loops) and what waits
    go(browser, browser.find_element(By.LINK_TEXT, "Payments"))
    assert browser.find_elements(By.CSS_SELECTOR, "#payments tr.payment")
    assert browser.find_elements(By.CSS_SELECTOR, "main form") == []
    shoot(browser, shots, "08a-viewer-payments")
    go(browser, browser.find_element(By.CSS_SELECTOR, "#payments tr.payment td a[href^='/files/']"))
    loops = [td.text for td in browser.find_elements(By.CSS_SELECTOR, "#segments td.loop")]
    assert {"1000A", "2100", "2110"} <= set(loops)
    shoot(browser, shots, "08b-viewer-835-loops")
    go(browser, browser.find_element(By.LINK_TEXT, "Payments"))
    go(browser, browser.find_element(By.CSS_SELECTOR, "#payments a.held-link"))
    assert browser.current_url.startswith(f"{site.url}/review#file-")
    go(browser, browser.find_element(By.LINK_TEXT, "Held payments"))
    assert claim_id in browser.page_source
    assert browser.find_elements(By.CSS_SELECTOR, "button.release") == []  # nothing offered
    assert "Audit trail" not in browser.find_element(By.TAG_NAME, "nav").text
    shoot(browser, shots, "08-viewer-held")
    csrf = browser.find_element(By.CSS_SELECTOR, "form.who input[name=csrf]").get_attribute("value")
    assert csrf
    fields = {"csrf": csrf, "file": "835-resent.x12", "claim_id": claim_id, "note": "sam tries"}
    post_form(browser, "/review/release", fields)
    message = browser.find_element(By.ID, "message").text
    assert "a viewer may not do this" in message
    shoot(browser, shots, "09-viewer-refused")
    del fields["csrf"]
    post_form(browser, "/review/release", fields)
    assert (
        "security token (CSRF) is missing or wrong" in browser.find_element(By.ID, "message").text
    )
    browser.get(f"{site.url}/audit")
    assert "a viewer may not do this" in browser.find_element(By.ID, "message").text
    log_out(browser)  # from the error page too: its form carries the session's token
    assert browser.current_url == f"{site.url}/login"
    with open_ledger(database_url(site.home, load_settings(site.home))) as ledger:
        assert [p.claim_id for p in ledger.held_payments()].count(claim_id) == 1  # still held
    # the login form itself needs its token too
    browser.delete_all_cookies()
    browser.get(f"{site.url}/login")
    post_form(browser, "/login", {"username": "sam", "password": PASSWORDS["sam"]})
    assert "security token (CSRF)" in browser.find_element(By.ID, "message").text


def test_the_admin_reads_each_step_in_the_audit_trail(
    site: Site, browser: WebDriver, shots: Path
) -> None:
    log_in(browser, site, "ada")
    go(browser, browser.find_element(By.LINK_TEXT, "Audit trail"))
    shoot(browser, shots, "10-audit")
    rows = [
        [td.text for td in tr.find_elements(By.TAG_NAME, "td")]
        for tr in browser.find_elements(By.CSS_SELECTOR, "#audit tr.audit")
    ]
    steps = [(r[1], r[2]) for r in reversed(rows)]  # oldest first
    expected = [
        ("maria", "login_failed"), ("maria", "login"),
        ("maria", "search_claims"), ("maria", "search_claims"),  # the newest claims, then hers
        ("maria", "view_claim"), ("maria", "view_file"), ("maria", "payment_released"),
        ("maria", "view_claim"), ("maria", "note_added"), ("maria", "view_claim"),
        ("maria", "logout"),
        ("sam", "login"), ("sam", "view_payments"), ("sam", "view_file"), ("sam", "view_payments"),
        ("sam", "refused"), ("sam", "csrf_refused"), ("sam", "refused"), ("sam", "logout"),
        ("-", "csrf_refused"), ("ada", "login"),
    ]  # fmt: skip
    assert steps == expected
    released = [r for r in rows if r[2] == "payment_released"]
    viewed = [r for r in rows if r[2] == "view_claim"]
    assert {r[3] for r in released + viewed} == {released[0][3]} != {""}  # which claim
    assert NOTE in released[0][4] and "835-resent.x12" in released[0][4]
    [forged] = [r for r in rows if r[1] == "-"]
    assert "user_given: sam" in forged[4] and "/login" in forged[4]
