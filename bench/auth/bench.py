"""The peers of bench.c, in the same run: simplejwt's verification of an
access token (AccessToken(token): PyJWT's decode and simplejwt's checks)
and PyJWT's decode alone, for the same algorithms and key sizes, and
Django's check_password for its hashers at Django 3.2's costs (Debian 12's
Django; pbkdf2_sha256 also at Django 5.2's 1000000 iterations).

    python3 bench.py [seconds]
"""

import sys
import time
from datetime import timedelta
from types import SimpleNamespace

import django
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from django.conf import settings

SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
SECRET = "django-insecure-a-secret-key-of-fifty-characters-x"


def pems(key):
    return (key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()).decode(),
            key.public_key().public_bytes(serialization.Encoding.PEM,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode())


KEYS = {"HS256": (SECRET, None), "HS512": (SECRET, None),
        "RS256": pems(rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        "ES256": pems(ec.generate_private_key(ec.SECP256R1())),
        "EdDSA": pems(ed25519.Ed25519PrivateKey.generate())}


def rate(fn):
    best = 0.0
    for _ in range(5):
        n, t0 = 0, time.perf_counter()
        while True:
            for _ in range(20):
                fn()
            n += 20
            t1 = time.perf_counter()
            if t1 - t0 >= SECONDS / 5:
                break
        best = max(best, n / (t1 - t0))
    return best


def main():
    settings.configure(
        SECRET_KEY=SECRET, DATABASES={}, USE_TZ=True,
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth",
                        "rest_framework", "rest_framework_simplejwt"],
        PASSWORD_HASHERS=["django.contrib.auth.hashers.PBKDF2PasswordHasher",
                          "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
                          "django.contrib.auth.hashers.Argon2PasswordHasher",
                          "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
                          "django.contrib.auth.hashers.BCryptPasswordHasher"],
        SIMPLE_JWT={"ACCESS_TOKEN_LIFETIME": timedelta(hours=1)})
    django.setup()
    import jwt
    from rest_framework_simplejwt.backends import TokenBackend
    from rest_framework_simplejwt.tokens import AccessToken

    user = SimpleNamespace(id=42)
    for alg, (signing, verifying) in KEYS.items():
        if alg == "EdDSA":  # simplejwt 5.2 has no EdDSA: PyJWT alone
            token = jwt.encode({"token_type": "access", "exp": int(time.time()) + 3600,
                                "user_id": 42}, signing, algorithm="EdDSA")
            r = rate(lambda: jwt.decode(token, verifying, algorithms=["EdDSA"]))
            print("pyjwt %-6s %10.0f verifies/s %8.2f us each" % (alg, r, 1e6 / r))
            continue
        backend = TokenBackend(alg, signing, verifying)

        class Access(AccessToken):
            _token_backend = backend

        token = str(Access.for_user(user))
        key = verifying or signing
        r = rate(lambda: Access(token))
        print("simplejwt %-6s %10.0f verifies/s %8.2f us each" % (alg, r, 1e6 / r))
        r = rate(lambda: jwt.decode(token, key, algorithms=[alg]))
        print("pyjwt %-6s %10.0f verifies/s %8.2f us each" % (alg, r, 1e6 / r))

    from django.contrib.auth.hashers import (PBKDF2PasswordHasher, check_password, get_hasher,
                                             make_password)

    class PBKDF2Django52(PBKDF2PasswordHasher):
        iterations = 1000000

    cases = [("pbkdf2_sha256 1000000", PBKDF2Django52()),
             ("pbkdf2_sha256 260000", get_hasher("pbkdf2_sha256")),
             ("argon2id t=2 m=102400 p=8", get_hasher("argon2")),
             ("bcrypt_sha256 12", get_hasher("bcrypt_sha256")),
             ("bcrypt 12", get_hasher("bcrypt"))]
    pw = "correct horse battery staple"
    for label, hasher in cases:
        encoded = make_password(pw, hasher=hasher)
        best = 1e9
        for _ in range(3):
            t0 = time.perf_counter()
            assert hasher.verify(pw, encoded)
            best = min(best, time.perf_counter() - t0)
        print("django password %-28s %8.1f ms" % (label, best * 1e3))
    assert check_password(pw, make_password(pw))


main()
