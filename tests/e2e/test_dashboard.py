"""The dashboard at /, in a real headless browser (Debian's chromium, driven
through chromedriver by Selenium).

Log in with an operator's key, see the known traffic's numbers, see them
change without reloading when more mail goes out, suspend and resume a queue
from the queues page (confirming the dialog) and see the effect in `sluice
queue summary`; a tenant's key sees its own numbers and no operator pages; a
wrong key is refused. The pages hold no data and are served under a strict
Content-Security-Policy. Screenshots of the main pages are taken on the way
(into $SLUICE_SCREENSHOTS when set: the README's pictures).
"""

import http.client
import json
import os
import pathlib
import shutil
import urllib.request

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from mx import wait_outcomes, wait_until
from test_http_api import inject, make_key

CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


@pytest.fixture
def browser():
    o = webdriver.ChromeOptions()
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=1280,1000", "--disable-extensions", "--no-first-run"):
        o.add_argument(a)
    d = webdriver.Chrome(service=Service(CHROMEDRIVER), options=o)
    d.set_page_load_timeout(30)
    try:
        yield d
    finally:
        d.quit()


def shots_dir(tmp_path):
    where = os.environ.get("SLUICE_SCREENSHOTS")
    p = pathlib.Path(where) if where else tmp_path / "screenshots"
    p.mkdir(parents=True, exist_ok=True)
    return p


def wait_for(d, predicate, what, timeout=20):
    try:
        return WebDriverWait(d, timeout, poll_frequency=0.1).until(lambda _: predicate())
    except Exception as e:
        raise AssertionError(f"waited {timeout} s for {what}; page: "
                             f"{d.find_element(By.TAG_NAME, 'body').text[:2000]}") from e


def metric(d, name):
    try:
        els = d.find_elements(By.CSS_SELECTOR, f'#totals [data-metric="{name}"] .value')
        return els[0].text if els else None
    except StaleElementReferenceException:
        return None  # redrawn meanwhile (every few seconds)


def click(d, css):
    """Clicks what `css` finds, again if the page redrew it in between."""
    for _ in range(20):
        try:
            d.find_element(By.CSS_SELECTOR, css).click()
            return
        except StaleElementReferenceException:
            continue
    raise AssertionError(f"{css} kept being redrawn")


def page_text(d):
    for _ in range(20):
        try:
            return d.find_element(By.ID, "page").text
        except StaleElementReferenceException:
            continue
    return ""


def log_in(d, s, key):
    d.get(f"http://127.0.0.1:{s.ports['api']}/")
    wait_for(d, lambda: d.find_element(By.ID, "key").is_displayed(), "the login form")
    d.find_element(By.ID, "key").send_keys(key)
    d.find_element(By.CSS_SELECTOR, "#login-form button[type=submit]").click()


def go(d, page):
    d.execute_script("location.hash = arguments[0]", "#/" + page)


def queue_summary(s):
    return json.loads(s.cli("queue", "summary", "--json").stdout)


def test_pages_are_static_and_locked_down(sluiced):
    with urllib.request.urlopen(f"http://127.0.0.1:{sluiced.ports['api']}/", timeout=10) as r:
        body = r.read().decode()
        csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "<script" in body and "sk_" not in body
    with urllib.request.urlopen(
            f"http://127.0.0.1:{sluiced.ports['api']}/dashboard/uPlot.LICENSE", timeout=10) as r:
        assert b"MIT License" in r.read()
    # RFC 9110 §9.3.2: HEAD has GET's Content-Length and no content; the connection goes on.
    c = http.client.HTTPConnection("127.0.0.1", sluiced.ports["api"], timeout=10)
    c.request("HEAD", "/dashboard/app.js")
    head = c.getresponse()
    assert head.status == 200 and head.read() == b""
    c.request("GET", "/dashboard/app.js")
    get = c.getresponse()
    js = get.read()
    assert get.status == 200 and int(head.getheader("Content-Length")) == len(js) > 1000
    assert js.startswith(b"// Sluice dashboard")
    c.close()


def test_operator_sees_traffic_and_acts_on_queues(mx_lab, delivering_sluiced, browser, tmp_path):
    ok = mx_lab.sink("ok")
    slow = mx_lab.sink("slow")
    slow.defer_all = True
    gone = mx_lab.sink("gone", reject_rcpts=True)
    for name, sink in (("ok", ok), ("slow", slow), ("gone", gone)):
        mx_lab.dns.mx(f"{name}.example", f"mx.{name}.example", 10).a(f"mx.{name}.example",
                                                                    sink.address)
    s = delivering_sluiced()
    operator = make_key(s)["key"]
    acme = make_key(s, "acme")["key"]
    for rcpts, key in ((["a@ok.example", "b@ok.example"], acme), (["c@ok.example"], operator),
                       (["a@gone.example"], acme), (["a@slow.example"], acme)):
        assert inject(s, key, rcpts)[0] == 202
    wait_outcomes(s, lambda evs: {"a@ok.example", "b@ok.example", "c@ok.example",
                                  "a@gone.example"} <= {e["recipient"] for e in evs
                                                        if e["type"] in ("Delivery", "Bounce")}
                  and any(e["recipient"] == "a@slow.example" for e in evs), 30)
    shots = shots_dir(tmp_path)
    d = browser

    # A wrong key is refused.
    log_in(d, s, "sk_" + "0" * 64)
    wait_for(d, lambda: "not valid" in d.find_element(By.ID, "login-error").text,
             "the refusal of a wrong key")
    d.find_element(By.ID, "key").clear()

    # The operator's overview: the known traffic's numbers.
    d.find_element(By.ID, "key").send_keys(operator)
    d.find_element(By.CSS_SELECTOR, "#login-form button[type=submit]").click()
    wait_for(d, lambda: metric(d, "delivered") == "3", "3 delivered on the overview")
    d.get_log("browser")  # (drained: the wrong key's 401 is in it)
    assert metric(d, "received") == "5"
    assert metric(d, "bounced") == "1"
    d.save_screenshot(str(shots / "overview.png"))

    # Live: more mail goes out, the number follows without a reload.
    marker = d.execute_script("window.__same_page = 1; return 1")
    assert inject(s, operator, ["d@ok.example"])[0] == 202
    wait_for(d, lambda: metric(d, "delivered") == "4", "the count to follow new mail", timeout=30)
    assert d.execute_script("return window.__same_page") == marker

    # Queues: suspend the deferred queue from the page, see it in `sluice queue summary`.
    go(d, "queues")
    button = '[data-target="acme@slow.example"][data-action="{}"]'
    wait_for(d, lambda: d.find_elements(By.CSS_SELECTOR, button.format("suspend")),
             "the acme@slow.example queue with a Suspend button")
    d.save_screenshot(str(shots / "queues.png"))
    click(d, button.format("suspend"))
    alert = WebDriverWait(d, 10).until(lambda _: d.switch_to.alert)
    assert "acme@slow.example" in alert.text
    alert.accept()
    wait_until(lambda: any(q["queue"] == "acme@slow.example" and q["suspended"]
                           for q in queue_summary(s)["queues"]), 15, what="the queue suspended")
    assert "acme@slow.example" in s.cli("queue", "summary").stdout.split("operator:")[1]
    # A dismissed confirmation does nothing.
    wait_for(d, lambda: d.find_elements(By.CSS_SELECTOR, button.format("resume")),
             "a Resume button for the held queue")
    click(d, button.format("resume"))
    WebDriverWait(d, 10).until(lambda _: d.switch_to.alert).dismiss()
    assert all(q["suspended"] for q in queue_summary(s)["queues"]
               if q["queue"] == "acme@slow.example")
    click(d, button.format("resume"))
    WebDriverWait(d, 10).until(lambda _: d.switch_to.alert).accept()
    wait_until(lambda: not any(q["suspended"] for q in queue_summary(s)["queues"]
                               if q["queue"] == "acme@slow.example"), 15, what="the queue resumed")
    assert not queue_summary(s)["operator_suspensions"]

    # The other pages draw; the bounce's reply is among the top replies.
    go(d, "bounces")
    wait_for(d, lambda: "bad-mailbox" in page_text(d),
             "the bounce class on the bounces page")
    assert "<address>" in page_text(d)
    d.save_screenshot(str(shots / "bounces.png"))
    go(d, "egress")
    wait_for(d, lambda: "Outcomes by source" in page_text(d), "egress")
    d.save_screenshot(str(shots / "egress.png"))
    mid = next(e["id"] for e in s.events() if e["type"] == "Bounce")
    go(d, "message/" + mid)
    wait_for(d, lambda: "Bounce" in page_text(d), "the message timeline")
    d.save_screenshot(str(shots / "message.png"))
    go(d, "suppressions")
    wait_for(d, lambda: d.find_elements(By.ID, "s-address"), "the suppression form")
    d.find_element(By.ID, "s-address").send_keys("a@gone.example")
    d.find_element(By.ID, "s-tenant").send_keys("acme")
    d.find_element(By.CSS_SELECTOR, "#page form button[type=submit]").click()
    wait_for(d, lambda: "hard-bounce" in d.find_element(By.ID, "suppression-result").text,
             "the hard bounce's suppression entry")
    d.save_screenshot(str(shots / "suppressions.png"))
    go(d, "domains")
    wait_for(d, lambda: "DNS check" in page_text(d), "the domains page")
    severe = [e for e in d.get_log("browser") if e["level"] == "SEVERE"]
    assert not severe, severe

    # A tenant's key: its own numbers, no operator pages.
    d.find_element(By.ID, "logout").click()
    log_in(d, s, acme)
    wait_for(d, lambda: metric(d, "delivered") == "2", "acme's 2 deliveries")
    assert metric(d, "received") == "4" and metric(d, "bounced") == "1"
    assert not d.find_element(By.CSS_SELECTOR, 'nav a[data-page="queues"]').is_displayed()
    assert "tenant acme" in d.find_element(By.ID, "who").text


def test_phone_width_keeps_every_page_reachable(sluiced, browser, tmp_path):
    browser.set_window_size(390, 844)
    log_in(browser, sluiced, make_key(sluiced)["key"])
    wait_for(browser, lambda: metric(browser, "delivered") == "0", "the overview")
    for link in browser.find_elements(By.CSS_SELECTOR, "nav a"):
        assert link.is_displayed(), link.text
    width = browser.execute_script("return document.documentElement.scrollWidth")
    assert width <= 400, width
    browser.save_screenshot(str(shots_dir(tmp_path) / "phone.png"))
