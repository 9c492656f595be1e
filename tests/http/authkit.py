"""What the authentication tests share: a fresh database made by Django's
own `manage.py migrate` (Django's auth, DRF's authtoken, simplejwt's
blacklist and a small app, tests/data/django_auth), Django's side reached
through its `authops` command (JSON in, JSON out), the RSA key both sides
sign with, and a Soom app written into a temporary folder and served over
it.

A test that needs PostgreSQL fails without it (harness.Database)."""

import atexit
import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.request

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from harness import SOURCE, Database, Server, write_app

DJANGO = os.path.join(SOURCE, "tests", "data", "django_auth")
# Debian's python3-django lives with the system's interpreter
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
JWT_SECRET = "the secret both sides of the authentication tests sign with"


class Django:
    """A database migrated by Django, and Django's side of the tests on it."""

    def __init__(self):
        self.db = Database()
        atexit.register(self.db.drop)
        self.url = self.db.url
        self.manage("migrate", "-v0")

    def manage(self, *args, stdin=None):
        env = dict(os.environ, DATABASE_URL=self.url, PYTHONDONTWRITEBYTECODE="1",
                   SOOM_TEST_JWT_SECRET=JWT_SECRET)
        p = subprocess.run([PYTHON, "manage.py"] + list(args), cwd=DJANGO, env=env, input=stdin,
                           capture_output=True, text=True, timeout=300)
        if p.returncode != 0:
            raise AssertionError("manage.py %s failed:\n%s%s" % (" ".join(args), p.stdout,
                                                                 p.stderr))
        return p.stdout

    def op(self, name, **req):
        req["op"] = name
        return json.loads(self.manage("authops", stdin=json.dumps(req)))

    def sql(self, text):
        return self.db.sql(text)

    def scalar(self, text):
        return self.db.scalar(text)


def rsa_keys():
    """A 2048-bit RSA key pair as PEM texts (private, public) and the public
    key as a JWKS with kid "soom-test-key"."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    nums = key.public_key().public_numbers()

    def b64(n):
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    jwks = {"keys": [{"kty": "RSA", "kid": "soom-test-key", "alg": "RS256", "use": "sig",
                      "n": b64(nums.n), "e": b64(nums.e)}]}
    return private, public, json.dumps(jwks)


def app(files, settings="return {}"):
    """A Soom app folder holding `files` (path -> text) and settings.lua."""
    root = tempfile.mkdtemp(prefix="soom-auth-")
    atexit.register(shutil.rmtree, root, True)
    files = dict(files)
    files["settings.lua"] = settings
    write_app(root, files)
    return root


def serve(root, url, env=None):
    e = {"DATABASE_URL": url, "SOOM_JWT__SIGNING_KEY": JWT_SECRET, "SOOM_LOG_LEVEL": "debug"}
    e.update(env or {})
    srv = Server(root, env=e).start()
    atexit.register(srv.stop)
    return srv


def metric(srv, name, labels):
    """The value of a series on /metrics (0 when it is not there yet)."""
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % srv.port, timeout=10) as r:
        text = r.read().decode()
    want = ",".join('%s="%s"' % kv for kv in sorted(labels.items()))
    for line in text.splitlines():
        m = re.match(r'^%s\{([^}]*)\} (\S+)$' % re.escape(name), line)
        if m and ",".join(sorted(m.group(1).split(","))) == want:
            return float(m.group(2))
    return 0.0


def basic(username, password):
    return "Basic " + base64.b64encode(("%s:%s" % (username, password)).encode()).decode()
