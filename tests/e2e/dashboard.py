#!/usr/bin/python3
"""The dashboard in a real browser (headless Chromium driven by chromium-driver): a live 5-node ring
with five nodes up and an ok verdict, the header saying this monitor leads term 1; without the secret the controls are hidden and refused; with
it, the page streams even while anonymous pages hold every other slot; "inject lose" at node 2 brings the alarm and, the monitor recovering, the recovered event; the
alarm's snapshot shows its cut; no JavaScript errors. Saves a screenshot.

Finally node 4 is killed (VICTIM_PID): drawn down, an open incident, left out of the view (the ring
drawn going round it).

Usage: dashboard.py URL_WITH_SECRET SCREENSHOT.png VICTIM_PID CHROMEDRIVER_PORT"""
import os
import signal
import socket
import subprocess
import sys
import time
import http.client
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

url, screenshot, victim, driver_port = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
base = url.split("#")[0]
secret = url.split("#secret=")[1]


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

    # The alarm's snapshot shows its cut: five nodes' records, no token anywhere, and why.
    click('#verdict-strip .verdict[data-verdict="token_lost"]')
    await_css("#cut-table tbody tr", "the cut's rows", 5)
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

    driver.save_screenshot(screenshot)

    # A node killed: drawn down (its port closed), and an incident open until it comes back.
    os.kill(victim, signal.SIGKILL)
    await_css('#ring g.node[data-node="4"][data-state="down"]', "node 4 drawn down")
    await_css('#events li[data-event="node_down"]', "the node_down event")
    # Its port closed, it is left out at once: the ring drawn as the new view has it, node 3
    # passing straight to node 0 past it.
    await_css('#ring g.node[data-node="4"][data-in-view="false"]', "node 4 drawn out of the view")
    await_css('#ring line.link.bypass[data-from="3"][data-to="0"]', "the bypass from node 3 to node 0")
    await_css('#events li[data-event="node_evicted"]', "the node_evicted event")
    if "node 4 down since" not in (open_now := driver.find_element(By.ID, "open-incidents").text):
        fail(f"open incidents with node 4 killed: {open_now!r}")

    errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    if errors:
        fail(f"JavaScript errors: {errors}")
    print(f"ok: 5 nodes up, ok verdict; controls refused without the secret (403); inject lose -> '{alarm}', recovered; "
          f"cut: {explanation[:60]}...; node 4 killed: drawn down, open incident shown; "
          f"no console errors; screenshot {screenshot}")
finally:
    driver.quit()
    chromedriver.terminate()
    chromedriver.wait()
