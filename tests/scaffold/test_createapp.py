"""soom createapp and soom generate resource: what they refuse (writing
nothing), and that what they write passes its own tests, lint and check,
and serves on its embedded database; createapp from an installed soom reads
the install tree's templates."""

import json
import os
import re
import time

from common import SOOM, TempDir, createapp, eq, read, run, soom, tree
from harness import Server


def test_bad_names_are_refused_and_nothing_written():
    with TempDir() as root:
        for name in ("Demo", "1app", "my-app", "my app", "end", "soom", "a__b", "trailing_",
                     "x" * 41, ""):
            code, out, err = soom("createapp", name, cwd=root, check=False)
            eq(code, 1, "createapp %r" % name)
            assert "name" in err and ("not a valid" in err or "cannot name" in err
                                      or "too long" in err), err
            eq(os.listdir(root), [], "nothing written for %r" % name)
        code, _, err = soom("createapp", cwd=root, check=False)
        eq(code, 2, "no name is a usage error")


def test_existing_folders_are_refused_and_left_alone():
    with TempDir() as root:
        busy = os.path.join(root, "busy")
        os.makedirs(busy)
        with open(os.path.join(busy, "keep.txt"), "w") as f:
            f.write("mine")
        code, _, err = soom("createapp", "busy", cwd=root, check=False)
        eq(code, 1)
        assert "not empty" in err and "nothing written" in err, err
        eq(tree(busy), ["keep.txt"])
        code, _, err = soom("createapp", "demo", "--dir", os.path.join(busy, "keep.txt"),
                            cwd=root, check=False)
        eq(code, 1)
        assert "not a folder" in err, err
        eq(read(os.path.join(busy, "keep.txt")), "mine")
        # an empty folder is fine
        empty = os.path.join(root, "empty")
        os.makedirs(empty)
        soom("createapp", "svc", "--dir", empty, cwd=root)
        assert os.path.exists(os.path.join(empty, "app.lua"))
        assert 'name = "svc"' in read(os.path.join(empty, "app.lua"))


EXPECTED = [
    ".dockerignore", ".editorconfig", ".github/workflows/ci.yml", ".gitignore", ".luacheckrc",
    "Containerfile", "README.md", "app.lua", "commands/greet.lua", "compose.yaml",
    "deploy/k8s/configmap.yaml", "deploy/k8s/deployment.yaml", "deploy/k8s/hpa.yaml",
    "deploy/k8s/kustomization.yaml", "deploy/k8s/migrate-job.yaml", "deploy/k8s/pdb.yaml",
    "deploy/k8s/secret.example.yaml", "deploy/k8s/service.yaml",
    "deploy/prometheus/prometheus.yml", "lib/greeting.lua", "migrations/0001_create_item.sql",
    "models/item.lua", "resources/hello.lua", "resources/items.lua", "settings.lua",
    "tests/test_health.lua", "tests/test_hello.lua", "tests/test_items.lua",
]


def no_placeholders_left(app):
    for rel in tree(app):
        text = read(os.path.join(app, rel))
        left = re.findall(r"@[a-z_]+@", text)
        assert not left, "%s keeps placeholders %s" % (rel, left)


def test_new_app_passes_its_tests_lint_and_check():
    with TempDir() as root:
        app = createapp(root, "demo")
        eq(tree(app), EXPECTED)
        no_placeholders_left(app)
        run(["luacheck", "."], cwd=app)
        code, out, _ = soom("routes", cwd=app)
        for route in ("/hello", "/items", "/items/{id:int}"):
            assert re.search(r"\s%s\s" % re.escape(route), out), out
        # soom check on the app's own database: its models match the migrated tables
        code, out, err = soom("check", cwd=app, env={"DATABASE_URL": None}, timeout=300)
        assert re.search(r"^ok: 3 routes, 1 model match the database$", out, re.M), out + err
        code, out, _ = soom("check", "--offline", cwd=app)
        assert "not compared with a database (--offline)" in out, out
        # on the app's own database, as a new user runs it: no DATABASE_URL
        code, out, err = soom("test", cwd=app, env={"DATABASE_URL": None}, timeout=300)
        assert re.search(r"^8 passed, 0 failed$", out, re.M), out + err
        eq(soom("greet", "--who", "Ada", cwd=app)[1], "Hello, Ada!\n")
        code, out, _ = soom("help", cwd=app)
        assert re.search(r"\n  greet +Print the greeting", out), out


def request(port, method, path, body=None):
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {}
    if body is not None:
        body = json.dumps(body)
        headers["Content-Type"] = "application/json"
    conn.request(method, path, body=body, headers=headers)
    res = conn.getresponse()
    data = res.read()
    conn.close()
    return res.status, (json.loads(data) if data else None)


def crud_round_trip(port):
    status, obj = request(port, "POST", "/items", {"name": "first", "quantity": 3})
    eq(status, 201, "create")
    eq((obj["name"], obj["quantity"]), ("first", 3))
    eq(request(port, "GET", "/items/%d" % obj["id"]), (200, obj))
    status, page = request(port, "GET", "/items")
    eq(status, 200)
    assert obj["id"] in [r["id"] for r in page["results"]], page
    status, upd = request(port, "PATCH", "/items/%d" % obj["id"], {"quantity": 4})
    eq((status, upd["quantity"]), (200, 4))
    eq(request(port, "POST", "/items", {"name": "", "quantity": "x"})[0], 422)
    eq(request(port, "DELETE", "/items/%d" % obj["id"])[0], 204)
    eq(request(port, "GET", "/items/%d" % obj["id"])[0], 404)


def test_new_app_serves_probes_and_crud_on_its_embedded_database():
    with TempDir() as root:
        app = createapp(root, "demo")
        srv = Server(app, env={"DATABASE_URL": None})
        srv.env.pop("DATABASE_URL", None)
        srv.start(wait=False)
        try:
            srv.wait_ready(90)  # initdb on the first run
            eq(request(srv.port, "GET", "/live")[0], 200, "/live")
            eq(request(srv.port, "GET", "/ready")[0], 200, "/ready")
            crud_round_trip(srv.port)
            # a request is counted as it completes, a moment after its answer
            for _ in range(50):
                status, _, body = srv.request("GET", "/metrics")
                eq(status, 200, "/metrics")
                if b'route="/items"' in body:
                    break
                time.sleep(0.05)
            assert re.search(rb'http_requests_total\{[^}]*route="/items"', body), body[:3000]
        finally:
            srv.stop()
        eq(srv.proc.returncode, 0, "exit code after SIGTERM")
        lines = [json.loads(line) for line in srv.log().splitlines() if line.startswith("{")]
        assert any(line.get("route") == "/items" for line in lines), "JSON access lines"


def test_app_without_database():
    with TempDir() as root:
        app = createapp(root, "plain", "--no-db")
        files = tree(app)
        for gone in ("models/item.lua", "migrations/0001_create_item.sql", "resources/items.lua",
                     "tests/test_items.lua", "deploy/k8s/migrate-job.yaml"):
            assert gone not in files, gone
        assert "database_url" not in read(os.path.join(app, "settings.lua"))
        assert "postgres" not in read(os.path.join(app, "compose.yaml"))
        assert "migrate-job" not in read(os.path.join(app, "deploy/k8s/kustomization.yaml"))
        no_placeholders_left(app)
        run(["luacheck", "."], cwd=app)
        code, out, _ = soom("test", cwd=app, env={"DATABASE_URL": None})
        assert "5 passed, 0 failed" in out, out
        assert not os.path.exists(os.path.join(app, ".soom")), "no database was started"


FIELDS = ("title:text(200),amount:numeric(10,2),done:boolean,due:date?,meta:jsonb?,"
          "ref:uuid,at:timestamptz,score:double,rank:smallint")


def test_generate_resource_passes_the_apps_tests_and_lint():
    with TempDir() as root:
        app = createapp(root, "shop")
        before = tree(app)
        code, out, _ = soom("generate", "resource", "order_line", "--fields", FIELDS, cwd=app)
        added = sorted(set(tree(app)) - set(before))
        eq(added, ["migrations/0002_create_order_line.sql", "models/order_line.lua",
                   "resources/order_lines.lua", "tests/test_order_lines.lua"])
        for rel in added:
            assert "wrote " + rel in out, out
        no_placeholders_left(app)
        sql = read(os.path.join(app, "migrations/0002_create_order_line.sql"))
        for col in ('"title" varchar(200) NOT NULL', '"amount" numeric(10,2) NOT NULL',
                    '"due" date,', '"meta" jsonb,', '"rank" smallint NOT NULL'):
            assert col in sql, sql
        # from outside the app, with --app; and a plural of its own
        soom("--app", app, "generate", "resource", "category", "--fields", "label:text",
             cwd=root)
        assert os.path.exists(os.path.join(app, "resources/categories.lua"))
        run(["luacheck", "."], cwd=app)
        soom("check", "--offline", cwd=app)
        code, out, err = soom("test", cwd=app, timeout=300)
        assert re.search(r"^14 passed, 0 failed$", out, re.M), out + err
        for name in ("test_order_lines.lua", "test_categories.lua", "test_items.lua"):
            assert "ok   %s: the list pages with a signed cursor" % name in out, out


def test_generate_refuses_and_writes_nothing():
    with TempDir() as root:
        app = createapp(root, "shop")
        before = {rel: read(os.path.join(app, rel)) for rel in tree(app)}
        cases = [
            (("generate", "resource", "item", "--fields", "name:text"), "already"),
            (("generate", "resource", "thing", "--fields", "x:blob"), "unknown type"),
            (("generate", "resource", "thing", "--fields", "id:integer"), "always there"),
            (("generate", "resource", "thing", "--fields", "a:text,a:integer"), "twice"),
            (("generate", "resource", "thing", "--fields", "Bad:text"), "not a valid field"),
            (("generate", "resource", "thing", "--fields", "a:integer(3)"), "size"),
            (("generate", "resource", "thing"), "--fields is required"),
            (("generate", "resource", "Thing", "--fields", "a:text"), "not a valid"),
            (("generate", "model", "thing", "--fields", "a:text"), "only kind is resource"),
            (("generate", "resource", "hello", "--plural", "hello", "--fields", "a:text"),
             "already exist"),
        ]
        for args, message in cases:
            code, _, err = soom(*args, cwd=app, check=False)
            assert code != 0, args
            assert message in err, "%s: %s" % (args, err)
        after = {rel: read(os.path.join(app, rel)) for rel in tree(app)}
        eq(after, before, "the app is unchanged")
        with TempDir() as elsewhere:
            code, _, err = soom("generate", "resource", "thing", "--fields", "a:text",
                                cwd=elsewhere, check=False)
            eq(code, 1)
            assert "not a soom app" in err, err
            eq(os.listdir(elsewhere), [])


def test_createapp_from_an_installed_soom_uses_the_install_tree():
    with TempDir() as prefix, TempDir() as root:
        build = os.path.dirname(os.path.dirname(SOOM))
        run(["cmake", "--install", build, "--prefix", prefix])
        installed = os.path.join(prefix, "bin", "soom")
        readme = os.path.join(prefix, "share", "soom", "scaffold", "app", "README.md")
        with open(readme, "a") as f:
            f.write("\nInstalled templates (@app@).\n")
        # nothing points at the source or build tree
        env = {"SOOM_HOME": None, "PATH": os.path.join(prefix, "bin") + ":" + os.environ["PATH"]}
        code, out, _ = run([installed, "createapp", "installed_demo"], cwd=root, env=env)
        app = os.path.join(root, "installed_demo")
        assert "Installed templates (installed_demo)." in read(os.path.join(app, "README.md"))
        eq(tree(app), EXPECTED)
        code, out, err = run([installed, "test"], cwd=app, env=env, timeout=300)
        assert "0 failed" in out and " passed" in out, out + err


def main():
    from harness import main as run_all
    run_all(globals())


if __name__ == "__main__":
    main()
