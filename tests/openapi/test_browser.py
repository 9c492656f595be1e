"""Headless Chromium (Debian's) opens /docs (Swagger UI) and /redoc (ReDoc)
with no network at all: the test re-runs itself in a new network namespace
that has only loopback, so a page that needed a CDN could not render. Each
page must show an operation's summary, and ask nothing of any host but the
server; a screenshot of each goes to the test output folder."""

import json
import os
import sys

from tools import HERE, OUT, TOOLS, harness, run, tool

eq = harness.eq

if os.environ.get("SOOM_NETNS") != "1":
    os.environ["SOOM_NETNS"] = "1"
    os.execvp("unshare", ["unshare", "--net", "--", "sh", "-c", 'ip link set lo up && exec "$@"',
                          "sh", sys.executable, os.path.abspath(__file__)])


def test_no_network_here():
    with open("/proc/net/dev") as f:
        names = [l.split(":")[0].strip() for l in f.read().splitlines()[2:]]
    eq(names, ["lo"], "interfaces in the test's namespace")


def check_page(srv, page, text):
    os.makedirs(OUT, exist_ok=True)
    shot = os.path.join(OUT, "openapi-%s.png" % page.strip("/"))
    if os.path.exists(shot):
        os.remove(shot)
    tool("playwright-core")
    code, out = run(["node", os.path.join(HERE, "browser.mjs"),
                     "http://127.0.0.1:%d%s" % (srv.port, page), text, shot],
                    env={"SOOM_NPM_TOOLS": TOOLS}, cwd=TOOLS, timeout=120)
    lines = [l for l in out.splitlines() if l.startswith("{")]
    result = json.loads(lines[-1]) if lines else None
    eq(result is not None, True, "browser output:\n" + out)
    eq(result["outside"], [], "requests to other hosts from %s" % page)
    eq((code, result["found"]), (0, True), "%s shows %r:\n%s" % (page, text, out))
    eq(os.path.getsize(shot) > 10000, True, "screenshot " + shot)
    return result


def test_swagger_ui_and_redoc_render_offline():
    srv = harness.Server(harness.SAMPLE, env={"SOOM_OPENAPI__UI": "on"}).start()
    try:
        _, _, body = srv.request("GET", "/openapi.json")
        doc = json.loads(body)
        summary = doc["paths"]["/hello"]["get"]["summary"]
        docs = check_page(srv, "/docs", summary)
        eq("/openapi.json" in docs["requests"], True, "Swagger UI fetched the document")
        redoc = check_page(srv, "/redoc", summary)
        eq("/openapi.json" in redoc["requests"], True, "ReDoc fetched the document")
        # a summary that is not in the document is not found: the check can fail
        code, out = run(["node", os.path.join(HERE, "browser.mjs"),
                         "http://127.0.0.1:%d/redoc" % srv.port, "An operation nobody declared",
                         os.path.join(OUT, "openapi-negative.png")],
                        env={"SOOM_NPM_TOOLS": TOOLS, "SOOM_BROWSER_WAIT": "3000"}, cwd=TOOLS,
                        timeout=120)
        eq(code != 0, True, "a missing text fails the check")
    finally:
        srv.stop()


harness.main(globals())
