"""soom createuser, soom changepassword and soom token create|revoke, with
Django's own check of what they write (check_password, DRF's Token), and
the credential cache: a revoked token keeps working for the cache's TTL at
most, never with the cache off."""

import hashlib
import subprocess
import time

from authkit import Django, app, serve
from harness import SOOM, eq, main

DJ = Django()
DJ.sql("CREATE TABLE soom_token (digest char(64) PRIMARY KEY, user_id integer NOT NULL UNIQUE "
       "REFERENCES auth_user (id))")
ROOT = app({"resources/me.lua": r"""
local soom = require "soom"
local me = function(self, req) return { username = req.user.username } end
local perms = { soom.perm.is_authenticated }
return {
    soom.Resource { route = "/me", authentication = { soom.auth.token }, permissions = perms,
        get = me },
    soom.Resource { route = "/hashed", permissions = perms, get = me,
        authentication = { soom.auth.token { hashed = true, table = "soom_token",
                                             key_column = "digest" } } },
}
"""})


def soom(*args, stdin=None):
    p = subprocess.run([SOOM, "--app", ROOT] + list(args), input=stdin, capture_output=True,
                       text=True, timeout=120, env={"DATABASE_URL": DJ.url, "PATH": "/usr/bin:/bin"})
    return p.returncode, p.stdout, p.stderr


def django_sees(username, password):
    return DJ.op("check_password", username=username, password=password)


def test_createuser():
    code, out, err = soom("createuser", "ada", "--email", "ada@example.org", "--password-stdin",
                          "--iterations", "260000", stdin="first password\n")
    eq(code, 0, err)
    eq(out.startswith("created user ada (id "), True, out)
    eq(django_sees("ada", "first password"),
       {"exists": True, "ok": True, "is_staff": False, "is_superuser": False})
    eq(DJ.scalar("SELECT email FROM auth_user WHERE username = 'ada'"), "ada@example.org")
    code, _, _ = soom("createuser", "boss", "--superuser", stdin="boss pw\n")
    eq(code, 0)
    eq(django_sees("boss", "boss pw")["is_superuser"], True)
    eq(django_sees("boss", "boss pw")["is_staff"], True)
    code, _, err = soom("createuser", "ada", stdin="again\n")
    eq(code, 1)
    eq("exists already" in err, True, err)
    code, _, _ = soom("createuser", "robot", "--no-password")
    eq(code, 0)
    eq(DJ.scalar("SELECT password FROM auth_user WHERE username = 'robot'").startswith("!"), True)
    eq(django_sees("robot", "")["ok"], False)


def test_changepassword():
    code, out, err = soom("changepassword", "ada", stdin="second password\n")
    eq(code, 0, err)
    eq(django_sees("ada", "second password")["ok"], True)
    eq(django_sees("ada", "first password")["ok"], False)
    eq(soom("changepassword", "nobody", stdin="x\n")[0], 1)


def test_token_create_and_revoke():
    code, out, err = soom("token", "create", "ada")
    eq(code, 0, err)
    key = out.strip()
    eq(len(key), 40)
    eq(DJ.op("token_of", username="ada"), key, "DRF's Token model reads it")
    eq(soom("token", "create", "ada")[1].strip(), key, "one token per user, as DRF")
    reset = soom("token", "create", "ada", "--reset")[1].strip()
    eq(reset != key and len(reset) == 40, True)
    eq(DJ.op("token_of", username="ada"), reset)
    eq(soom("token", "create", "nobody")[0], 1)
    eq(soom("token", "delete", "ada")[0], 2)

    cached = serve(ROOT, DJ.url, env={"SOOM_AUTH__CACHE_TTL": "1.5"})
    uncached = serve(ROOT, DJ.url, env={"SOOM_AUTH__CACHE_TTL": "0"})
    auth = {"Authorization": "Token " + reset}
    for srv in (cached, uncached):
        eq(srv.json("GET", "/me", headers=auth)[:3:2], (200, {"username": "ada"}))
    code, out, _ = soom("token", "revoke", "ada")
    eq((code, out), (0, "1 token revoked for ada\n"))
    eq(uncached.json("GET", "/me", headers=auth)[0], 401, "no cache: revoked at once")
    eq(cached.json("GET", "/me", headers=auth)[0], 200, "within the TTL the cache still has it")
    time.sleep(1.7)
    eq(cached.json("GET", "/me", headers=auth)[0], 401, "after the TTL, revoked")


def test_hashed_tokens():
    code, out, err = soom("token", "create", "ada", "--hashed", "--table", "soom_token",
                          "--key-column", "digest")
    eq(code, 0, err)
    key = out.strip()
    eq(DJ.scalar("SELECT digest FROM soom_token"), hashlib.sha256(key.encode()).hexdigest())
    srv = serve(ROOT, DJ.url)
    eq(srv.json("GET", "/hashed", headers={"Authorization": "Token " + key})[0], 200)
    code, _, err = soom("token", "create", "ada", "--hashed", "--table", "soom_token",
                        "--key-column", "digest")
    eq(code, 1, "a digest cannot be shown again")
    eq("--reset" in err, True)


main(globals())
