"""The Django side of tests/http/test_auth_django.py, run as a subprocess of
it (one process per Django configuration, since Django and simplejwt read
their settings once): reads one JSON request on standard input, configures
a minimal Django (no database: unsaved users are enough for
make_password, check_password and simplejwt's for_user) and prints one
JSON answer.

    {"op": "make_passwords", "cases": [{"hasher", "password"}]}
        -> [encoded, ...]            (django.contrib.auth.hashers.make_password;
                                      a null password makes an unusable one)
    {"op": "check_passwords", "cases": [{"password", "encoded"}]}
        -> [bool, ...]               (django.contrib.auth.hashers.check_password)
    {"op": "tokens", "jwt": SIMPLE_JWT, "user_id": 42}
        -> {"access", "refresh", "refresh_access", "string_id", "expired",
            "not_yet_valid", "big"}  (rest_framework_simplejwt.tokens)
    {"op": "check_tokens", "jwt": SIMPLE_JWT, "cases": [{"token", "type"}]}
        -> [{"ok", "error", "user_id"}, ...]
                                     (AccessToken(token) / RefreshToken(token))
"""

import json
import sys
from datetime import timedelta
from types import SimpleNamespace

import django
from django.conf import settings

HASHERS = {
    "pbkdf2_sha256": "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "pbkdf2_sha1": "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "argon2": "django.contrib.auth.hashers.Argon2PasswordHasher",
    "bcrypt_sha256": "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "bcrypt": "django.contrib.auth.hashers.BCryptPasswordHasher",
}


def setup(simple_jwt=None):
    settings.configure(
        SECRET_KEY="django-side-of-the-soom-tests",
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth",
                        "rest_framework", "rest_framework_simplejwt"],
        DATABASES={},
        USE_TZ=True,
        PASSWORD_HASHERS=list(HASHERS.values()),
        SIMPLE_JWT=simple_jwt or {},
    )
    django.setup()


def argon2i_hasher():
    """Django's Argon2PasswordHasher making argon2i hashes, as Django did
    before 3.2 (Django 3.2 still reads them)."""
    import argon2
    from django.contrib.auth.hashers import Argon2PasswordHasher

    class Argon2iPasswordHasher(Argon2PasswordHasher):
        def params(self):
            p = super().params()
            p.type = argon2.low_level.Type.I
            return p

    return Argon2iPasswordHasher()


def make_passwords(req):
    from django.contrib.auth.hashers import get_hasher, make_password
    out = []
    for case in req["cases"]:
        name = case["hasher"]
        hasher = argon2i_hasher() if name == "argon2i" else get_hasher(name)
        out.append(make_password(case["password"], hasher=hasher))
    return out


def check_passwords(req):
    from django.contrib.auth.hashers import check_password
    return [check_password(c["password"], c["encoded"]) for c in req["cases"]]


def simple_jwt(cfg):
    """SIMPLE_JWT from the test's plain settings (lifetimes in seconds)."""
    s = dict(cfg)
    for k in ("ACCESS_TOKEN_LIFETIME", "REFRESH_TOKEN_LIFETIME"):
        if k in s:
            s[k] = timedelta(seconds=s[k])
    return s


def tokens(req):
    from rest_framework_simplejwt.tokens import AccessToken, RefreshToken
    user = SimpleNamespace(id=req["user_id"])
    refresh = RefreshToken.for_user(user)
    expired = AccessToken.for_user(user)
    expired.set_exp(lifetime=timedelta(seconds=-30))
    early = AccessToken.for_user(user)
    early["nbf"] = early["iat"] + 3600
    big = AccessToken.for_user(user)
    big["pad"] = "x" * 9000
    return {
        "access": str(AccessToken.for_user(user)),
        "refresh": str(refresh),
        "refresh_access": str(refresh.access_token),
        "string_id": str(AccessToken.for_user(SimpleNamespace(id="b5d1c0de-string-id"))),
        "expired": str(expired),
        "not_yet_valid": str(early),
        "big": str(big),
    }


def check_tokens(req):
    from rest_framework_simplejwt.exceptions import TokenError
    from rest_framework_simplejwt.tokens import AccessToken, RefreshToken
    out = []
    for case in req["cases"]:
        cls = RefreshToken if case.get("type") == "refresh" else AccessToken
        try:
            t = cls(case["token"])
            out.append({"ok": True, "error": None, "user_id": t.get("user_id")})
        except TokenError as e:
            out.append({"ok": False, "error": str(e), "user_id": None})
    return out


OPS = {"make_passwords": make_passwords, "check_passwords": check_passwords,
       "tokens": tokens, "check_tokens": check_tokens}


def main():
    req = json.load(sys.stdin)
    setup(simple_jwt(req.get("jwt", {})))
    json.dump(OPS[req["op"]](req), sys.stdout)


if __name__ == "__main__":
    main()
