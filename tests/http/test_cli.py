"""End-to-end tests of the soom command line: commands as Lua files, help,
usage errors, start-up errors that name the culprit, and an installed soom
working from any folder."""

import os
import re
import subprocess
import tempfile

from harness import SAMPLE, SOOM, Server, eq, main, run_soom, start_failure, write_app


HELLO = """local soom = require "soom"
return soom.Resource { route = "/hello", get = function() return { message = "hi" } end }
"""


def test_help_lists_builtin_and_app_commands():
    code, out, _ = run_soom("help", cwd=SAMPLE)
    eq(code, 0)
    for name in ("run", "routes", "help", "version", "test", "hello"):
        assert ("\n  %s " % name) in out, "help does not list %s:\n%s" % (name, out)
    assert "Say hello from the sample app" in out
    code, out, _ = run_soom("--app", SAMPLE, "help")
    assert "hello" in out and "[app]" in out
    code, out, _ = run_soom("help", cwd="/")
    assert "\n  hello " not in out, "no app here, so no app command"


def test_app_command_runs_with_arguments():
    code, out, _ = run_soom("hello", "--who", "Paul", "--times", "2", cwd=SAMPLE)
    eq((code, out), (0, "hello Paul\nhello Paul\n"))
    code, out, _ = run_soom("--app", SAMPLE, "hello")
    eq((code, out), (0, "hello world\n"))
    code, out, _ = run_soom("--app", SAMPLE, "hello", "--who=Ada")
    eq(out, "hello Ada\n")


def test_help_for_one_command():
    code, out, _ = run_soom("help", "run")
    eq(code, 0)
    assert "usage: soom run [APP_DIR] [--port N] [--host VALUE]" in out, out
    assert "--port" in out and "APP_DIR" in out
    code, out, _ = run_soom("help", "hello", cwd=SAMPLE)
    assert "--who" in out and "default: world" in out, out


def test_usage_errors_exit_2():
    code, _, err = run_soom("frobnicate")
    eq(code, 2)
    assert "unknown command" in err and "frobnicate" in err, err
    code, _, err = run_soom("hello", "--nope", cwd=SAMPLE)
    eq(code, 2)
    assert "unknown option --nope" in err and "usage: soom hello" in err, err
    code, _, err = run_soom("hello", "--times", "many", cwd=SAMPLE)
    eq(code, 2)
    assert "expects a number" in err
    code, _, err = run_soom("hello", "--who", cwd=SAMPLE)
    eq(code, 2)
    assert "needs a value" in err
    code, _, err = run_soom("run", SAMPLE, "extra")
    eq(code, 2)
    code, _, err = run_soom("help", "nope")
    eq(code, 2)


def test_version():
    code, out, _ = run_soom("version")
    eq(code, 0)
    assert out.startswith("soom 0.") and "LuaJIT" in out, out


def test_routes():
    code, out, _ = run_soom("routes", SAMPLE)
    eq(code, 0)
    assert re.search(r"\nGET +/items/\{id:int\} +resources/items.lua\n", out), out
    assert re.search(r"\nPOST +/greetings +resources/greetings.lua\n", out), out


def test_bad_settings_stop_startup_naming_the_key():
    with tempfile.TemporaryDirectory() as d:
        write_app(d, {"resources/hello.lua": HELLO, "settings.lua": "return { prot = 1 }"})
        code, log = start_failure(d)
        assert code != 0 and 'unknown setting "prot"' in log, log
        write_app(d, {"settings.lua": 'return { port = "eighty" }'})
        code, log = start_failure(d)
        assert code != 0 and '"port"' in log and "integer" in log, log
        write_app(d, {"settings.lua": 'return { server = "gevent" }'})
        code, log = start_failure(d)
        assert code != 0 and '"server"' in log and "gevent" in log, log
        write_app(d, {"settings.lua": "return { pool = { maxx = 3 } }"})
        code, log = start_failure(d)
        assert code != 0 and "pool.maxx" in log, log
        write_app(d, {"settings.lua": "return {}"})
        code, log = start_failure(d, env={"SOOM_MAX_BODY": "lots"})
        assert code != 0 and '"max_body"' in log, log
        # an env override wins over settings.lua; an unknown SOOM_ variable is reported
        write_app(d, {"settings.lua": "return { max_body = 10 }"})
        srv = Server(d, env={"SOOM_MAX_BODY": "100", "SOOM_MAX_BDY": "1"}).start()
        try:
            status, _, _ = srv.request("POST", "/hello", body=b"x" * 50,
                                       headers={"Content-Type": "application/json"})
            eq(status, 405, "50 bytes pass the 100-byte limit")
            status, _, _ = srv.request("GET", "/hello", body=b"x" * 150,
                                       headers={"Content-Type": "application/json"})
            eq(status, 413)
            assert "SOOM_MAX_BDY" in srv.log()
        finally:
            srv.stop()


def test_conflicting_routes_stop_startup_naming_both():
    with tempfile.TemporaryDirectory() as d:
        write_app(d, {
            "resources/a.lua": 'local soom = require "soom"\nreturn soom.Resource { route = "/x/{id}", get = function() end }',
            "resources/b.lua": 'local soom = require "soom"\nreturn soom.Resource { route = "/x/{name}", get = function() end }',
        })
        code, log = start_failure(d)
        assert code != 0, log
        assert "resources/a.lua" in log and "resources/b.lua" in log, log
        code, out, err = run_soom("routes", d)
        assert code != 0 and "resources/a.lua" in err and "resources/b.lua" in err, err
        write_app(d, {
            "resources/b.lua": 'local soom = require "soom"\nreturn soom.Resource { route = "/x/{id}", post = function() end }',
        })
        code, log = start_failure(d)
        assert code != 0 and "duplicates" in log, log


def test_lua_errors_at_startup_are_reported():
    with tempfile.TemporaryDirectory() as d:
        write_app(d, {"resources/bad.lua": "return {{{"})
        code, log = start_failure(d)
        assert code != 0 and "bad.lua" in log, log
        write_app(d, {"resources/bad.lua": 'local soom = require "soom"\nreturn soom.Resource { get = function() end }'})
        code, log = start_failure(d)
        assert code != 0 and "needs a route" in log, log


def test_installed_soom_works_from_any_folder():
    with tempfile.TemporaryDirectory() as prefix, tempfile.TemporaryDirectory() as cwd:
        build = os.path.dirname(os.path.dirname(SOOM))
        p = subprocess.run(["cmake", "--install", build, "--prefix", prefix],
                           capture_output=True, text=True)
        eq(p.returncode, 0, "cmake --install: " + p.stderr)
        installed = os.path.join(prefix, "bin", "soom")
        app = write_app(os.path.join(cwd, "myapp"), {"resources/hello.lua": HELLO})
        env = dict(os.environ)
        env.pop("SOOM_HOME", None)
        p = subprocess.run([installed, "help"], cwd=cwd, env=env, capture_output=True, text=True)
        eq(p.returncode, 0, p.stderr)
        assert "run" in p.stdout
        assert os.path.isdir(os.path.join(prefix, "share", "soom", "scaffold"))
        import harness
        old = harness.SOOM
        harness.SOOM = installed
        try:
            srv = Server(app).start()
            eq(srv.json("GET", "/hello")[2], {"message": "hi"})
            srv.stop()
        finally:
            harness.SOOM = old


main(globals())
