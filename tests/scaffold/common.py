"""Helpers of the scaffold suite: soom createapp in a temporary folder, the
validators the scaffold/npm fixture installed, podman with the flags this
kind of machine needs (../shared/CONTAINERS.md: chroot builds that never
pull, runc, explicit limits)."""

import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "http"))

from harness import SOOM, eq  # noqa: E402

NPM = os.environ.get("SOOM_SCAFFOLD_NPM") or os.path.join(
    os.path.dirname(os.path.dirname(SOOM)), "scaffold-npm")
HERE = os.path.dirname(os.path.abspath(__file__))
VERSION = os.environ.get("SOOM_VERSION", "0.1.0")
RUN_FLAGS = ["--runtime", "runc", "--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]


def run(cmd, cwd=None, env=None, timeout=300, check=True, input=None):
    """Runs cmd; returns (code, stdout, stderr). check: fail unless 0."""
    e = dict(os.environ)
    for k, v in (env or {}).items():
        if v is None:
            e.pop(k, None)
        else:
            e[k] = v
    p = subprocess.run(cmd, cwd=cwd, env=e, capture_output=True, text=True, timeout=timeout,
                       input=input)
    if check and p.returncode != 0:
        raise AssertionError("%s exited with %d\n--- stdout\n%s\n--- stderr\n%s"
                             % (" ".join(cmd), p.returncode, p.stdout, p.stderr))
    return p.returncode, p.stdout, p.stderr


def soom(*args, cwd=None, env=None, timeout=300, check=True, exe=None):
    return run([exe or SOOM] + list(args), cwd=cwd, env=env, timeout=timeout, check=check)


class TempDir:
    def __init__(self, prefix="soom-scaffold-"):
        self.path = tempfile.mkdtemp(prefix=prefix)

    def __enter__(self):
        return self.path

    def __exit__(self, *exc):
        shutil.rmtree(self.path, ignore_errors=True)


def createapp(root, name="demo", *args, exe=None):
    soom("createapp", name, *args, cwd=root, exe=exe)
    return os.path.join(root, name)


def tree(path):
    """Every file under path, relative, sorted."""
    out = []
    for d, _, files in os.walk(path):
        for f in files:
            out.append(os.path.relpath(os.path.join(d, f), path))
    return sorted(out)


def read(path):
    with open(path) as f:
        return f.read()


def npm_bin(name):
    path = os.path.join(NPM, "node_modules", ".bin", name)
    if not os.path.exists(path):
        raise AssertionError("%s is missing: the scaffold/npm fixture installs it" % path)
    return path


def validate(kind, path, input=None, check=True):
    """node validate.js kind path: (code, parsed documents or None, stderr)."""
    import json
    env = {"NODE_PATH": os.path.join(NPM, "node_modules")}
    code, out, err = run(["node", os.path.join(HERE, "validate.js"), kind, path], env=env,
                         input=input, check=check)
    return code, (json.loads(out) if code == 0 else None), err


__all__ = ["run", "soom", "TempDir", "createapp", "tree", "read", "npm_bin", "validate", "eq",
           "RUN_FLAGS", "VERSION", "SOOM", "HERE"]
