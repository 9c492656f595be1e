"""Shared by the npm-based OpenAPI tests: the npm tools installed by
npm_setup.sh (the `openapi/npm` fixture) and the end-to-end harness."""

import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "http"))

import harness  # noqa: E402

TOOLS = os.environ.get("SOOM_NPM_TOOLS") or os.path.join(harness.SOURCE, "build", "npm-tools")
OUT = os.environ.get("SOOM_TEST_OUT") or os.path.join(harness.SOURCE, "build", "test-output")
EVERYTHING = os.path.join(HERE, "app")


def tool(name):
    path = os.path.join(TOOLS, "node_modules", ".bin", name)
    if not os.path.exists(path):
        raise AssertionError("%s is not installed in %s: run tests/openapi/npm_setup.sh %s"
                             % (name, TOOLS, TOOLS))
    return path


def run(cmd, timeout=300, env=None, cwd=None):
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=e, cwd=cwd)
    return p.returncode, p.stdout + p.stderr


def document(app, path, *flags, env=None):
    code, out, err = harness.run_soom("openapi", app, "--out", path, *flags, env=env)
    harness.eq(code, 0, "soom openapi (%s%s)" % (out, err))
    return path
