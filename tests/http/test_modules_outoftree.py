"""A module built out of tree, as a user builds one: Soom is installed
into a temporary prefix (`cmake --install`), `soom createmodule` writes a
module project into another folder, the project is built with nothing but
`pkg-config soom` from that prefix, and the installed soom loads it into
an app; its middleware, route, format and Lua library are then shown
working over real HTTP."""

import json
import os
import shutil
import subprocess
import tempfile

import harness
from harness import Server, eq, main

BUILD = os.path.abspath(os.environ.get("SOOM_BUILD") or
                        os.path.join(os.path.dirname(__file__), "..", "..", "build"))

APP_RESOURCE = '''
local soom = require "soom"
local knot = require "soom.ext.knot"

return soom.Resource {
    route = "/tickets",
    validation_schema = {
        type = "object", required = { "code" },
        properties = { code = { type = "string", format = "knot-code" } },
    },
    get = function() return { greeting = knot.greeting() } end,
    post = function(_, req) return { loud = knot.shout(req.body.code) }, 201 end,
}
'''


def run(cmd, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kw)
    if p.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s\n%s" % (cmd, p.returncode, p.stdout, p.stderr))
    return p.stdout


class Installed:
    """Soom installed into a fresh prefix, and a folder for a module."""

    def __enter__(self):
        self.root = tempfile.mkdtemp(prefix="soom-oot-")
        self.prefix = os.path.join(self.root, "prefix")
        self.work = os.path.join(self.root, "work")
        os.makedirs(self.work)
        run(["cmake", "--install", BUILD, "--prefix", self.prefix])
        self.soom = os.path.join(self.prefix, "bin", "soom")
        self.pkgconfig = os.path.join(self.prefix, "lib", "pkgconfig")
        return self

    def __exit__(self, *exc):
        shutil.rmtree(self.root)

    def env(self):
        e = dict(os.environ)
        e["PKG_CONFIG_PATH"] = self.pkgconfig
        e.pop("SOOM_HOME", None)
        return e


def test_install_then_build_a_module_with_pkg_config_alone():
    with Installed() as inst:
        env = inst.env()
        # the installed tree: headers, soom.pc, the shipped modules
        for rel in ("include/soom/module.h", "lib/pkgconfig/soom.pc",
                    "lib/soom/modules/cors.so", "lib/soom/modules/compress.so"):
            assert os.path.exists(os.path.join(inst.prefix, rel)), rel
        cflags = run(["pkg-config", "--cflags", "soom"], env=env)
        assert "-I" + inst.pkgconfig + "/../../include" in cflags, cflags
        eq(run(["pkg-config", "--variable=abi", "soom"], env=env).strip(), "1.1")

        mod = os.path.join(inst.work, "knot")
        out = run([inst.soom, "createmodule", "knot", "--dir", mod], env=env)
        assert "wrote" in out
        for rel in ("knot.c", "CMakeLists.txt", "README.md", ".gitignore", ".clang-format",
                    "tests/app/settings.lua", "tests/app/tests/test_module.lua"):
            assert os.path.exists(os.path.join(mod, rel)), rel
        with open(os.path.join(mod, "CMakeLists.txt")) as f:
            assert "pkg_check_modules(SOOM REQUIRED IMPORTED_TARGET soom)" in f.read()
        run(["cmake", "-S", mod, "-B", os.path.join(mod, "build")], env=env)
        run(["cmake", "--build", os.path.join(mod, "build")], env=env)
        so = os.path.join(mod, "build", "knot.so")
        assert os.path.exists(so)

        # the project's own tests, with the installed soom
        out = run([inst.soom, "test", os.path.join(mod, "tests", "app")], env=env)
        assert "4 passed, 0 failed" in out, out

        # an app of ours that loads it, served by the installed soom
        app = os.path.join(inst.work, "app")
        harness.write_app(app, {
            "settings.lua": 'return { modules = { knot = { path = "%s", greeting = "Ahoy" } } }\n'
                            % so,
            "resources/tickets.lua": APP_RESOURCE,
        })
        saved = harness.SOOM
        harness.SOOM = inst.soom
        try:
            srv = Server(app, env={"PKG_CONFIG_PATH": inst.pkgconfig}).start()
        finally:
            harness.SOOM = saved
        try:
            status, headers, doc = srv.json("GET", "/knot/hello/grace")
            eq((status, doc), (200, {"message": "Ahoy, grace!"}), "its route")
            eq(headers.get("x-knot-version"), "0.1.0", "its middleware")
            status, headers, doc = srv.json("GET", "/tickets")
            eq((status, doc, headers.get("x-knot-version")), (200, {"greeting": "Ahoy"}, "0.1.0"),
               "its Lua library, and the middleware on the app's own routes")
            status, _, doc = srv.json("POST", "/tickets", body={"code": "ABC123"})
            eq((status, doc), (201, {"loud": "ABC123!"}))
            status, _, doc = srv.json("POST", "/tickets", body={"code": "abc-12"})
            eq((status, doc["errors"][0]["code"], doc["errors"][0]["pointer"]),
               (422, "format", "/code"), "its format")
        finally:
            srv.stop()
        eq(srv.proc.returncode, 0)
        code = subprocess.run([inst.soom, "routes", app], capture_output=True, text=True,
                              env=env).stdout
        assert "/knot/hello/{who:slug}" in code and "module knot" in code, code


def test_createmodule_refuses_bad_names_and_folders_in_use():
    with Installed() as inst:
        env = inst.env()
        for bad in ("Knot", "9lives", "my-mod", "end"):
            p = subprocess.run([inst.soom, "createmodule", bad],
                               capture_output=True, text=True, env=env, cwd=inst.work)
            eq(p.returncode, 1, bad)
            assert "module name" in p.stderr or "cannot name a module" in p.stderr, p.stderr
        eq(os.listdir(inst.work), [], "nothing written")
        # into ./knot by default
        run([inst.soom, "createmodule", "knot"], env=env, cwd=inst.work)
        assert os.path.exists(os.path.join(inst.work, "knot", "knot.c"))
        p = subprocess.run([inst.soom, "createmodule", "knot"], capture_output=True, text=True,
                           env=env, cwd=inst.work)
        eq(p.returncode, 1)
        assert "is not an empty folder: nothing written" in p.stderr, p.stderr
        eq(sorted(os.listdir(inst.work)), ["knot"])


if __name__ == "__main__":
    main(globals())
