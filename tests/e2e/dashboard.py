#!/usr/bin/python3
"""The dashboard in a real browser (headless Chromium driven by chromium-driver): a live 5-node ring
with five nodes up and an ok verdict, the header saying this monitor leads term 1; /healthz 200 with
no secret in it; without the secret the controls are hidden and refused; with it, the page streams
even while anonymous pages hold every other slot; "inject lose" at node 2 brings the alarm and, the
monitor recovering, the recovered event; the strip's elements survive updates; the alarm's verdict,
clicked, opens its cut in view; times are wall-clock; a page opened late shows the monitor's own
totals, as the early one does; no JavaScript errors. Saves a screenshot.

Then node 4 is killed (VICTIM_PID): drawn down, an open incident, left out of the view (the ring
drawn going round it); at no moment is a sighting from before its death shown as news, the token's
panel says it is outdated, and no live node is marked anything but up. Saves a second screenshot
(dashboard-node-down.png beside the first). Last, node 2 is stopped (PAUSE_PID) until /healthz says
503 (no conclusive snapshot for too long) and the page says outdated, then let go: 200 again.

Usage: dashboard.py URL_WITH_SECRET SCREENSHOT.png VICTIM_PID CHROMEDRIVER_PORT MONITOR_JSON PAUSE_PID"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import http.client
import urllib.error
import urllib.request

from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

url, screenshot, victim, driver_port = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
monitor_json, paused = Path(sys.argv[5]), int(sys.argv[6])
screenshot_down = str(Path(screenshot).with_name("dashboard-node-down.png"))
base = url.split("#")[0]
secret = url.split("#secret=")[1]
began = time.time()


def fail(why):
    print(f"FAIL (dashboard): {why}")
    sys.exit(1)


def post(path):
    """A control request from outside the page: its HTTP status."""
    try:
        with urllib.request.urlopen(urllib.request.Request(base.rstrip("/") + path, method="POST"), timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


# Without the secret (or with a wrong one) the controls are refused, whoever asks.
for path in ["/control/inject?node=2&kind=lose", f"/control/inject?node=2&kind=lose&secret={'0' * len(secret)}",
             "/control/recover?mode=regenerate&secret="]:
    if (status := post(path)) != 403:
        fail(f"POST {path} without the right secret: HTTP {status}, not 403")

# The server's guards, from outside the page (http.client: any Host, any header).
host, port = base.split("//")[1].rstrip("/").rsplit(":", 1)


def request(method, path, headers=None):
    """A request with exactly these headers: (status, headers, body)."""
    c = http.client.HTTPConnection(host, int(port), timeout=5)
    c.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
    for k, v in ({"Host": f"{host}:{port}"} | (headers or {})).items():
        c.putheader(k, v)
    c.endheaders()
    r = c.getresponse()
    out = (r.status, {k.lower(): v for k, v in r.getheaders()}, r.read().decode(errors="replace"))
    c.close()
    return out


def healthz():
    """GET /healthz, no secret: (status, its JSON body, the body as text)."""
    status, headers, body = request("GET", "/healthz")
    if headers.get("content-type") != "application/json":
        fail(f"/healthz answered {headers.get('content-type')!r}, not JSON: {body!r}")
    return status, json.loads(body), body


def await_healthz(want, secs):
    deadline = time.monotonic() + secs
    while True:
        status, h, body = healthz()
        if status == want:
            return h, body
        if time.monotonic() > deadline:
            fail(f"waited {secs} s for /healthz {want}: {status} {body!r}")
        time.sleep(0.1)


def monitor_events():
    """The monitor's JSON events so far (complete lines)."""
    return [json.loads(line) for line in monitor_json.read_text().split("\n")[:-1] if line.startswith("{")]


def monitor_totals(snapshot):
    """The monitor's totals as of snapshot `snapshot` (its number in the events), counted from its
    own JSON events: the verdicts up to it, and the incident events up to it and those it caused
    (printed right after it)."""
    deadline = time.monotonic() + 5
    while True:
        events = monitor_events()
        at = next((i for i, e in enumerate(events) if e["event"] == "snapshot" and e["id"] == snapshot), None)
        if at is not None:
            break
        if time.monotonic() > deadline:
            fail(f"snapshot {snapshot}, shown on the page, is not among the monitor's events")
        time.sleep(0.05)
    end = at + 1
    while end < len(events) and events[end]["event"] in ("alarm", "resolved", "recovery", "recovered"):
        end += 1
    upto = events[:end]
    count = lambda **f: sum(1 for e in upto if all(e.get(k) == v for k, v in f.items()))
    return {"snapshot": snapshot,
            **{v: count(event="snapshot", verdict=v) for v in ("ok", "token_lost", "token_duplicated", "inconclusive")},
            "incidents": count(event="alarm") + count(event="node_down"), "resolved": count(event="resolved") + count(event="node_up")}


# The right secret, but in the URL (where logs and history keep it): refused, and why said.
status, _, body = request("POST", f"/control/inject?node=2&kind=lose&secret={secret}")
if status != 403 or "X-Ringwatch-Secret header" not in body:
    fail(f"the secret in the query: HTTP {status} {body!r}, not 403 naming the header")
# The right secret from another site's page (its Origin): refused.
status, _, _ = request("POST", "/control/inject?node=2&kind=lose", {"X-Ringwatch-Secret": secret, "Origin": "http://evil.example"})
if status != 403:
    fail(f"a control from another origin: HTTP {status}, not 403")
# DNS rebinding: a page under another name that resolves here gets nothing, not even the page.
for path in ["/", "/events"]:
    status, _, _ = request("GET", path, {"Host": f"rebind.evil.example:{port}"})
    if status != 403:
        fail(f"GET {path} with a foreign Host: HTTP {status}, not 403")
# Without a port a Host means port 80 (what a browser leaves out): not this server's.
if (status := request("GET", "/", {"Host": host})[0]) != 403:
    fail(f"GET / with Host {host} (port 80 implied, the server is on {port}): HTTP {status}, not 403")
# Unknown paths are not echoed, and nothing is sniffed into another type.
status, headers, body = request("GET", "/<script>x</script>")
if status != 404 or "script" in body or headers.get("x-content-type-options") != "nosniff":
    fail(f"GET of an unknown path: HTTP {status}, {body!r}, {headers}")
# No WebSocket is kept open: the dashboard uses none.
try:
    status, _, _ = request("GET", "/", {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
                                         "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="})
except http.client.RemoteDisconnected:
    status = None  # refused by closing the connection
if status == 101:
    fail("a WebSocket upgrade was accepted")

options = webdriver.ChromeOptions()
options.binary_location = "/usr/bin/chromium"
for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1300,1000"]:
    options.add_argument(flag)
options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
# chromedriver started here on 127.0.0.1 (Selenium's own Service reaches it as "localhost", which a
# minimal system without /etc/hosts cannot resolve).
# Its port comes from the e2e script's free_ports (outside the kernel's ephemeral range): a port
# probed by binding port 0 could be taken by another test's connection before chromedriver binds it.
chromedriver = subprocess.Popen(["/usr/bin/chromedriver", f"--port={driver_port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
deadline = time.monotonic() + 20
while True:
    try:
        socket.create_connection(("127.0.0.1", driver_port), timeout=1).close()
        break
    except OSError:
        if time.monotonic() > deadline or chromedriver.poll() is not None:
            fail(f"chromedriver did not listen on 127.0.0.1:{driver_port} (exit {chromedriver.poll()})")
        time.sleep(0.05)
try:
    driver = webdriver.Remote(command_executor=f"http://127.0.0.1:{driver_port}", options=options)
except Exception as e:
    chromedriver.kill()
    fail(f"chromedriver could not start Chromium: {e}")
try:
    wait = WebDriverWait(driver, 20, poll_frequency=0.1)

    # The page redraws the ring and the strip on every snapshot: elements are read and clicked in
    # one script each, never held across a redraw.
    def texts(css, attribute=None):
        return driver.execute_script(
            "return [...document.querySelectorAll(arguments[0])].map(e => arguments[1] ? e.getAttribute(arguments[1]) : e.textContent);",
            css, attribute)

    def await_css(css, what, count=1):
        try:
            return wait.until(lambda d: (found := texts(css)) and len(found) >= count and found)
        except Exception:
            fail(f"waited 20 s for {what} ({css})")

    def click(css):
        if not driver.execute_script("const e = document.querySelector(arguments[0]); if (e) e.click(); return !!e;", css):
            fail(f"nothing to click at {css}")

    # The page without the secret: it shows the ring, but no controls; its own request is refused.
    driver.get(base)
    await_css("#ring g.node", "the ring's nodes", 5)
    if driver.find_element(By.ID, "controls").is_displayed():
        fail("controls shown without the secret")
    status = driver.execute_async_script(
        "const done = arguments[0]; fetch('/control/inject?node=2&kind=lose', {method: 'POST'}).then(r => done(r.status));")
    if status != 403:
        fail(f"the page's own control request without the secret: HTTP {status}")
    # The refused request is the one error Chromium logs so far (as a network error); nothing else.
    unexpected = [e for e in driver.get_log("browser") if e["level"] == "SEVERE" and "403 (Forbidden)" not in e["message"]]
    if unexpected:
        fail(f"JavaScript errors without the secret: {unexpected}")

    # A crowd of anonymous pages takes every page slot (a raw stream each, never read)...
    crowd = []
    for _ in range(40):
        c = socket.create_connection((host, int(port)), timeout=5)
        c.sendall(f"GET /events HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
        head = c.recv(64).decode(errors="replace")
        crowd.append(c)
        if " 503 " in head:
            break
    else:
        fail("40 anonymous pages open and none refused")
    # ...and yet the operator's page (with the secret, so with a ticket) streams.
    # With the secret: five nodes up, an ok verdict.
    driver.get(url)
    driver.refresh()  # a fragment-only change would not reload the page
    await_css('#ring g.node[data-state="up"]', "five nodes up", 5)
    await_css('#ring-verdict[data-verdict="ok"]', "an ok verdict")
    await_css('#verdict-strip .verdict[data-verdict="ok"]', "ok verdicts in the strip", 5)
    if not driver.find_element(By.ID, "controls").is_displayed():
        fail("no controls with the secret")
    # The header says which monitor serves the page and who leads (a lone monitor: itself, term 1).
    try:
        wait.until(lambda d: "leads term 1" in d.find_element(By.ID, "leadership").text)
    except Exception:
        fail(f"the header does not say this monitor leads term 1: {driver.find_element(By.ID, 'leadership').text!r}")
    nodes = sorted(int(n) for n in texts("#ring g.node", "data-node"))
    if nodes != [0, 1, 2, 3, 4]:
        fail(f"nodes drawn: {nodes}")
    for c in crowd:
        c.close()

    # /healthz on a healthy ring: 200, this monitor leading, no node down; no secret asked or told.
    status, health, healthy_body = healthz()
    if status != 200 or health["healthy"] is not True or health["role"] != "leader" or health["nodes_down"] != []:
        fail(f"/healthz on a healthy ring: {status} {healthy_body!r}")
    if secret in healthy_body:
        fail("/healthz tells the dashboard's secret")

    # The strip changes by single elements: one held across several updates is still the page's.
    newest = driver.find_elements(By.CSS_SELECTOR, "#verdict-strip .verdict")[-1]
    newest_id = newest.get_attribute("data-id")
    shown_at = int(driver.find_element(By.ID, "totals").get_attribute("data-snapshot"))
    try:
        wait.until(lambda d: int(d.find_element(By.ID, "totals").get_attribute("data-snapshot")) >= shown_at + 5)
    except Exception:
        fail("the page was not told of 5 more snapshots within 20 s")
    try:
        kept = driver.execute_script("return arguments[0].isConnected ? arguments[0].dataset.id : null;", newest)
    except StaleElementReferenceException:
        kept = None
    if kept != newest_id:
        fail(f"the strip's element for snapshot {newest_id} was replaced by an update (it is {kept})")

    # Inject a loss at node 2 from the page: the alarm, then the recovery's recovered event.
    Select(driver.find_element(By.ID, "control-node")).select_by_value("2")
    click('button[data-action="inject-lose"]')
    await_css('#events li[data-event="control"]', "the control's echo")
    alarm = await_css('#events li[data-event="alarm"]', "the alarm")[0]
    if "token lost" not in alarm:
        fail(f"the alarm line: {alarm}")
    await_css('#events li[data-event="recovered"]', "the recovered event")
    said = driver.find_element(By.ID, "control-said").text
    if "inject lose at node 2" not in said:
        fail(f"the control's answer: {said!r}")

    # The alarm's snapshot, clicked (a real click, from the top of the page), shows its cut in view:
    # five nodes' records, no token anywhere, and why.
    driver.execute_script("window.scrollTo(0, 0);")
    driver.find_element(By.CSS_SELECTOR, '#verdict-strip .verdict[data-verdict="token_lost"]').click()
    await_css("#cut-table tbody tr", "the cut's rows", 5)
    top, bottom, height = driver.execute_script(
        "const r = document.getElementById('cut-panel').getBoundingClientRect(); return [r.top, r.bottom, window.innerHeight];")
    if top < 0 or top >= height or (bottom > height + 1 and top > 1):
        fail(f"the cut opened out of view: its panel spans {top:.0f}..{bottom:.0f} px of a {height} px window")
    explanation = driver.find_element(By.ID, "cut-explanation").text
    if not explanation.startswith("token lost: 0 tokens"):
        fail(f"the cut's explanation: {explanation!r}")
    held = texts("#cut-table tbody tr:not(.missing) td:nth-child(2)")
    if len(held) != 5 or any(h != "0" for h in held):
        fail(f"the lost token's cut: tokens held {held}")
    await_css('#ring-verdict[data-verdict="ok"]', "an ok verdict again after the recovery")
    await_css('#events li[data-event="resolved"]', "the incident resolved")
    # The token incident is over; a starved node may have an incident of its own meanwhile (not ours to judge here).
    if "token" in (still := driver.find_element(By.ID, "open-incidents").text):
        fail(f"open incidents after the resolution: {still!r}")

    # Times are wall-clock: every event's time is a moment of this run, shown as this machine's local time.
    shown = driver.execute_script(
        "return [...document.querySelectorAll('#events time, #cut-when time')].map(t => [Number(t.dataset.unixMs), t.textContent]);")
    if len(shown) < 5:
        fail(f"only {len(shown)} times shown: {shown}")
    for unix_ms, text in shown:
        if not began - 300 <= unix_ms / 1000 <= time.time() + 5:
            fail(f"a time shown ({text}, {unix_ms} ms) is not a moment of this run")
        local = time.strftime("%H:%M:%S", time.localtime(unix_ms / 1000))
        if not re.fullmatch(r"\d\d:\d\d:\d\d(\.\d{3})?", text) or not text.startswith(local):
            fail(f"a time shown as {text!r}, not the local time {local}")

    # The counters are the monitor's own totals: a page opened now shows the same as the monitor's
    # events, and so does the page open since the start.
    def page_totals():
        return driver.execute_script(
            "const n = (id) => Number(document.getElementById(id).textContent);"
            "const s = document.getElementById('totals').dataset.snapshot;"
            "return s === undefined || s === '' ? null : {snapshot: Number(s), ok: n('count-ok'), token_lost: n('count-token_lost'),"
            " token_duplicated: n('count-token_duplicated'), inconclusive: n('count-inconclusive'),"
            " incidents: n('count-incidents'), resolved: n('count-resolved')};")

    # More snapshots than a greeting carries (120), so that a late page cannot count them itself.
    verdicts = lambda t: t["ok"] + t["token_lost"] + t["token_duplicated"] + t["inconclusive"] if t else 0
    try:
        wait.until(lambda d: verdicts(page_totals()) > 130)
    except Exception:
        fail(f"the monitor did not reach 130 snapshots: {page_totals()}")
    first_page = driver.current_window_handle
    driver.switch_to.new_window("tab")
    driver.get(base)
    try:
        late = wait.until(lambda d: page_totals())
    except Exception:
        fail("the page opened late shows no totals")
    if late != (expected := monitor_totals(late["snapshot"])):
        fail(f"a page opened late shows {late}, the monitor's events say {expected}")
    if late["token_lost"] < 1 or len(texts("#verdict-strip .verdict")) > 120:
        fail(f"the late page was sent more than 120 snapshots, or its totals miss the loss: {late}")
    driver.close()
    driver.switch_to.window(first_page)
    early = page_totals()
    if early != (expected := monitor_totals(early["snapshot"])):
        fail(f"the page opened early shows {early}, the monitor's events say {expected}")

    driver.save_screenshot(screenshot)

    # From here on, every drawing of the ring is recorded: the nodes' states and the token's panel.
    driver.execute_script("""
        window.frames_seen = [];
        const record = () => {
          const c = document.getElementById('ring-verdict'), nodes = {};
          for (const g of document.querySelectorAll('#ring g.node')) nodes[g.dataset.node] = g.dataset.state;
          window.frames_seen.push({nodes, verdict: c && c.dataset.verdict, label: c && c.textContent, freshness: c && c.dataset.freshness,
                                   snapshot: c && c.dataset.snapshot ? Number(c.dataset.snapshot) : null});
        };
        new MutationObserver(record).observe(document.getElementById('ring'), {childList: true});
        record();""")
    driver.execute_script("window.scrollTo(0, 0);")  # the next screenshot shows the header's figures

    # A node killed: drawn down (its port closed), and an incident open until it comes back.
    os.kill(victim, signal.SIGKILL)
    await_css('#ring g.node[data-node="4"][data-state="down"]', "node 4 drawn down")
    driver.save_screenshot(screenshot_down)
    await_css('#events li[data-event="node_down"]', "the node_down event")
    # Its port closed, it is left out at once: the ring drawn as the new view has it, node 3
    # passing straight to node 0 past it.
    await_css('#ring g.node[data-node="4"][data-in-view="false"]', "node 4 drawn out of the view")
    await_css('#ring line.link.bypass[data-from="3"][data-to="0"]', "the bypass from node 3 to node 0")
    await_css('#events li[data-event="node_evicted"]', "the node_evicted event")
    if "node 4 down since" not in (open_now := driver.find_element(By.ID, "open-incidents").text):
        fail(f"open incidents with node 4 killed: {open_now!r}")
    # The ring of four goes on: its snapshots are news again (node 4 still drawn down).
    await_css('#ring-verdict[data-freshness="fresh"][data-verdict="ok"]', "a fresh ok verdict in the view without node 4")

    # While node 4 was drawn down, the token's panel never showed a sighting from before as news:
    # it said "token unknown" until a snapshot of the ring without it concluded.
    frames = driver.execute_script("return window.frames_seen;")
    down_at = next((i for i, f in enumerate(frames) if f["nodes"].get("4") in ("down", "paused")), None)
    if down_at is None:
        fail("no drawing with node 4 down was recorded")
    seen_before = max((f["snapshot"] for f in frames[:down_at] if f["snapshot"] is not None), default=0)
    stale = [f for f in frames[down_at:] if f["verdict"] != "unknown" and (f["snapshot"] or 0) <= seen_before]
    if stale:
        fail(f"node 4 drawn down beside snapshot {stale[0]['snapshot']}'s token as news (seen before it went down): {stale[0]}")
    if not any(f["verdict"] == "unknown" and f["label"] == "token unknown" for f in frames[down_at:]):
        fail(f"node 4 down and the token's panel never said it was unknown: {frames[down_at:down_at + 5]}")

    # No snapshot can conclude while node 2 is stopped (its port still bound, so it is not left out
    # at once): /healthz turns 503 and the page says outdated; let go, both are healthy again.
    os.kill(paused, signal.SIGSTOP)
    try:
        health, unhealthy_body = await_healthz(503, 8)
        if "no conclusive snapshot for longer" not in health.get("why", "") or 4 not in health["nodes_down"]:
            fail(f"/healthz with node 2 stopped: {unhealthy_body!r}")
        await_css('#ring-verdict[data-freshness^="outdated"]', "the token said outdated with node 2 stopped")
        if (verdict := texts("#ring-verdict", "data-verdict")) != ["unknown"]:
            fail(f"an outdated token's panel says {verdict}")
    finally:
        os.kill(paused, signal.SIGCONT)
    await_healthz(200, 15)
    await_css('#ring-verdict[data-freshness="fresh"]', "the token news again after node 2 came back")

    # No live node was drawn anything but up all along: not node 0, node 4's successor, nor node 3,
    # node 2's, though neither sends a report while its snapshot waits for its predecessor's marker.
    # Node 2 itself is up until the monitor reports it down, then paused.
    frames = driver.execute_script("return window.frames_seen;")
    allowed = {"0": {"up"}, "1": {"up"}, "2": {"up", "paused"}, "3": {"up"}}
    unlike = [f for f in frames if any(f["nodes"].get(n) not in states for n, states in allowed.items())]
    if unlike:
        fail(f"a live node drawn other than up: {unlike[0]}")

    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    if errors:
        fail(f"JavaScript errors: {errors}")
    print(f"ok: 5 nodes up, ok verdict, /healthz 200 ({healthy_body.strip()}); controls refused without the secret (403); inject lose -> '{alarm}', "
          f"recovered; strip element kept across updates; cut: {explanation[:60]}... in view; {len(shown)} wall-clock times; "
          f"totals late {late} = early {early} = the monitor's; node 4 killed: drawn down, outdated until the view of four, "
          f"no live node marked otherwise ({len(frames)} drawings), open incident shown; node 2 stopped: /healthz 503 ({unhealthy_body.strip()}), 200 again; "
          f"no console errors; screenshots {screenshot}, {screenshot_down}")
finally:
    driver.quit()
    chromedriver.terminate()
    chromedriver.wait()
