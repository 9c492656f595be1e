"""The OpenAPI document and the docs pages, served: the same bytes as
`soom openapi`, static (no Lua), cached by ETag, the pages off by default
outside debug, every path a setting."""

import json
import os
import shutil
import tempfile
import time

from harness import SAMPLE, SOURCE, Server, eq, main, run_soom, start_failure, write_app

EVERYTHING = os.path.join(SOURCE, "tests", "openapi", "app")


def cli_doc(app, *flags, env=None):
    code, out, err = run_soom("openapi", app, *flags, env=env)
    eq(code, 0, "soom openapi exit code (%s)" % err)
    return out.encode()


def test_cli_is_deterministic_and_equals_the_served_bytes():
    first, second = cli_doc(SAMPLE), cli_doc(SAMPLE)
    eq(first, second, "two runs")
    yaml = cli_doc(SAMPLE, "--yaml")
    eq(yaml, cli_doc(SAMPLE, "--yaml"), "two YAML runs")
    srv = Server(SAMPLE).start()
    try:
        status, headers, body = srv.request("GET", "/openapi.json")
        eq(status, 200, "status")
        eq(body, first, "served JSON = soom openapi")
        eq(headers["content-type"], "application/json", "content type")
        eq(headers["cache-control"], "no-cache", "cache control")
        status, headers, body = srv.request("GET", "/openapi.yaml")
        eq(body, yaml, "served YAML = soom openapi --yaml")
        eq(headers["content-type"], "application/yaml", "YAML content type")
        doc = json.loads(first)
        eq(doc["openapi"], "3.1.0", "version")
        eq(doc["info"]["title"], "Soom sample", "title")
        access = []
        for _ in range(50):  # access lines are written in batches, 0.1 s late at most
            access = [l for l in srv.log_lines() if l.get("path") == "/openapi.json"]
            if access:
                break
            time.sleep(0.05)
        eq(access[0]["lua"], False, "served without Lua")
    finally:
        srv.stop()


def test_every_server_model_serves_the_same_bytes():
    # the document is made while the worker states load (async, threads,
    # thread-per-connection: in the serving process; prefork: in the
    # master, before its workers fork with the bytes)
    first, yaml = cli_doc(SAMPLE), cli_doc(SAMPLE, "--yaml")
    for model in ("async", "threads", "thread-per-connection", "prefork"):
        srv = Server(SAMPLE, env={"SOOM_SERVER": model, "SOOM_WORKERS": "2"}).start()
        try:
            status, _, body = srv.request("GET", "/openapi.json")
            eq((status, body == first), (200, True), "%s: served JSON = soom openapi" % model)
            status, _, body = srv.request("GET", "/openapi.yaml")
            eq((status, body == yaml), (200, True), "%s: served YAML = soom openapi --yaml" % model)
            eq(srv.request("GET", "/hello")[0], 200, "%s: the app's own routes" % model)
        finally:
            srv.stop()


def test_out_file():
    d = tempfile.mkdtemp()
    try:
        path = os.path.join(d, "doc.json")
        code, out, err = run_soom("openapi", SAMPLE, "--out", path)
        eq((code, out), (0, ""), "exit code and output (%s)" % err)
        with open(path, "rb") as f:
            eq(f.read(), cli_doc(SAMPLE), "file = standard output")
    finally:
        shutil.rmtree(d)


def test_etag_304_and_head():
    srv = Server(SAMPLE).start()
    try:
        _, headers, body = srv.request("GET", "/openapi.json")
        etag = headers["etag"]
        status, h2, body2 = srv.request("GET", "/openapi.json", headers={"If-None-Match": etag})
        eq((status, body2), (304, b""), "same ETag")
        eq(h2["etag"], etag, "304 carries the ETag")
        status, _, _ = srv.request("GET", "/openapi.json",
                                   headers={"If-None-Match": 'W/"other", W/' + etag})
        eq(status, 304, "a weak ETag in a list")
        status, _, body3 = srv.request("GET", "/openapi.json", headers={"If-None-Match": '"other"'})
        eq((status, body3), (200, body), "another ETag")
        status, h4, body4 = srv.request("HEAD", "/openapi.json")
        eq((status, body4, h4["content-length"]), (200, b"", str(len(body))), "HEAD")
        status, h5, _ = srv.request("POST", "/openapi.json", body={"x": 1})
        eq(status, 405, "POST")
        eq(h5["allow"], "GET, HEAD", "Allow")
        eq(srv.request("GET", "/openapi.yaml")[1]["etag"] != etag, True, "YAML's own ETag")
    finally:
        srv.stop()
    # replicas serving the same bytes give the same ETag (a cache in front
    # of several revalidates against any of them)
    again = Server(SAMPLE).start()
    try:
        eq(again.request("GET", "/openapi.json")[1]["etag"], etag, "the same ETag in another process")
    finally:
        again.stop()


def test_pages_off_by_default_on_with_debug_or_setting():
    srv = Server(SAMPLE).start()
    try:
        eq(srv.request("GET", "/docs")[0], 404, "/docs without debug")
        eq(srv.request("GET", "/redoc")[0], 404, "/redoc without debug")
    finally:
        srv.stop()
    for env in ({"SOOM_DEBUG": "true"}, {"SOOM_OPENAPI__UI": "on"}):
        srv = Server(SAMPLE, env=env).start()
        try:
            for page in ("/docs", "/redoc"):
                status, headers, body = srv.request("GET", page)
                eq(status, 200, "%s with %s" % (page, env))
                eq(headers["content-type"], "text/html; charset=utf-8", "page type")
                eq("default-src 'self'" in headers["content-security-policy"], True, "CSP")
                eq(headers["x-content-type-options"], "nosniff", "nosniff")
        finally:
            srv.stop()
    srv = Server(SAMPLE, env={"SOOM_DEBUG": "true", "SOOM_OPENAPI__UI": "off"}).start()
    try:
        eq(srv.request("GET", "/docs")[0], 404, "ui off beats debug")
    finally:
        srv.stop()


def test_assets_are_versioned_and_cached():
    srv = Server(SAMPLE, env={"SOOM_OPENAPI__UI": "on"}).start()
    try:
        _, _, page = srv.request("GET", "/docs")
        srcs = [part.split('"')[0] for part in page.decode().split('src="')[1:]]
        hrefs = [part.split('"')[0] for part in page.decode().split('href="')[1:]]
        eq(len(srcs), 2, "two scripts")
        types = {"js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8",
                 "png": "image/png"}
        for ref in srcs + hrefs:
            status, headers, body = srv.request("GET", "/" + ref)
            eq(status, 200, ref)
            eq(headers["content-type"], types[ref.rsplit(".", 1)[1]], ref + " type")
            if "/swagger-ui-" in ref:
                eq(headers["cache-control"], "public, max-age=31536000, immutable", ref)
                eq(len(body) > 500, True, ref + " has its bytes")
            else:
                eq(headers["cache-control"], "no-cache", ref)
        _, _, init = srv.request("GET", "/docs/assets/init.js")
        eq(b'url: "openapi.json"' in init and b"validatorUrl: null" in init, True, "init.js")
        _, _, redoc = srv.request("GET", "/redoc")
        asset = redoc.decode().split('src="')[1].split('"')[0]
        status, headers, body = srv.request("GET", "/" + asset)
        eq((status, headers["cache-control"]), (200, "public, max-age=31536000, immutable"),
           "ReDoc bundle")
        eq(b"cdn.redoc.ly" in body, False, "no CDN URL left in ReDoc's bundle")
    finally:
        srv.stop()


def test_paths_are_settings():
    env = {"SOOM_OPENAPI__JSON": "/api/schema.json", "SOOM_OPENAPI__YAML": "",
           "SOOM_OPENAPI__DOCS": "/api/docs", "SOOM_OPENAPI__REDOC": "", "SOOM_OPENAPI__UI": "on",
           "SOOM_OPENAPI__SERVERS": "https://a.soom.invalid, https://b.soom.invalid/v1"}
    srv = Server(SAMPLE, env=env).start()
    try:
        status, _, body = srv.request("GET", "/api/schema.json")
        eq(status, 200, "moved document")
        eq(body, cli_doc(SAMPLE, env=env), "moved document = soom openapi under the same settings")
        eq([s["url"] for s in json.loads(body)["servers"]],
           ["https://a.soom.invalid", "https://b.soom.invalid/v1"], "servers from settings")
        eq(srv.request("GET", "/openapi.json")[0], 404, "old path")
        eq(srv.request("GET", "/openapi.yaml")[0], 404, "YAML turned off")
        eq(srv.request("GET", "/redoc")[0], 404, "ReDoc turned off")
        status, _, page = srv.request("GET", "/api/docs")
        eq(status, 200, "moved Swagger UI")
        eq(b'src="docs/assets/init.js"' in page, True, "relative asset links")
        _, _, init = srv.request("GET", "/api/docs/assets/init.js")
        eq(b'url: "schema.json"' in init, True, "the document relative to the page")
    finally:
        srv.stop()


def test_clear_errors_at_start_up():
    code, log = start_failure(SAMPLE, env={"SOOM_OPENAPI__UI": "sometimes"})
    eq(code != 0 and 'settings.openapi.ui must be "debug", "on" or "off"' in log, True, log)
    code, log = start_failure(SAMPLE, env={"SOOM_OPENAPI__UI": "on", "SOOM_OPENAPI__JSON": ""})
    eq(code != 0 and "openapi.json, which is turned off" in log, True, log)
    d = tempfile.mkdtemp()
    try:
        write_app(d, {"resources/docs.lua": 'return require("soom").Resource { route = "/docs", '
                      'get = function() return {} end }', "settings.lua": "return { debug = true }"})
        code, log = start_failure(d)
        eq(code != 0 and "/docs" in log and "resources/docs.lua" in log, True, log)
        # found while the document is built, as the worker states load
        write_app(d, {"resources/docs.lua": 'local soom = require "soom"\nreturn { '
                      'soom.Resource { route = "/a", operation_id = "same", '
                      'get = function() return {} end }, soom.Resource { route = "/b", '
                      'operation_id = "same", get = function() return {} end } }'})
        for model in ("async", "prefork"):
            code, log = start_failure(d, env={"SOOM_SERVER": model})
            eq(code != 0 and "the operationId same of GET" in log
               and "set operation_id on one of them" in log, True, "%s: %s" % (model, log))
        home = os.path.join(d, "home")
        built = os.path.join(os.path.dirname(os.path.dirname(os.environ.get("SOOM_BIN") or
                                                             SOURCE + "/build/bin/soom")),
                             "share", "soom")
        shutil.copytree(os.path.join(built, "lua"), os.path.join(home, "lua"))
        code, log = start_failure(SAMPLE, env={"SOOM_HOME": home, "SOOM_OPENAPI__UI": "on"})
        eq(code != 0 and "swagger-ui is not installed" in log, True, log)
    finally:
        shutil.rmtree(d)


def test_everything_app_document():
    body = cli_doc(EVERYTHING)
    doc = json.loads(body)
    eq(doc["paths"]["/things"]["get"]["operationId"], "things_list", "operationId")
    eq(sorted(doc["components"]["securitySchemes"]), ["apiKeyQuery", "bearerAuth", "tokenAuth"],
       "security schemes")


main(globals())
