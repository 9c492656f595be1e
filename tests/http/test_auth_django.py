"""Soom against Django's own artefacts, all made while the test runs:

- password hashes from Django's make_password, for every hasher Debian's
  Django 3.2 has, checked by soom.auth.check_password; and hashes from
  soom.auth.hash_password checked by Django's check_password (the Lua API,
  through an app command run by the real soom);
- JWTs from djangorestframework-simplejwt (and PyJWT where simplejwt cannot)
  verified by the C verifier, with every refusal; and tokens the C signer
  issues verified by simplejwt. The C side is reached through
  tests/c/auth/jwt_probe.c, a JSON-in, JSON-out driver of the auth module.

Django runs in subprocesses (tests/http/djangoside.py), one per
configuration, since Django and simplejwt read their settings once.
"""

import base64
import hashlib
import hmac
import json
import os
import secrets
import string
import subprocess
import sys
import tempfile
import time

import jwt  # PyJWT, which simplejwt signs with
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from harness import eq, main, run_soom, write_app

HERE = os.path.dirname(os.path.abspath(__file__))
DJANGOSIDE = os.path.join(HERE, "djangoside.py")
PROBE = os.environ.get("SOOM_JWT_PROBE") or os.path.join(
    HERE, "..", "..", "build", "tests", "soom_jwt_probe")


def django(req):
    p = subprocess.run([sys.executable, DJANGOSIDE], input=json.dumps(req), text=True,
                       capture_output=True, timeout=240)
    assert p.returncode == 0, "the Django side failed:\n" + p.stderr
    return json.loads(p.stdout)


def probe(config, verify=(), issue=()):
    req = {"config": config, "verify": list(verify), "issue": list(issue)}
    p = subprocess.run([PROBE], input=json.dumps(req), text=True, capture_output=True,
                       timeout=120)
    assert p.returncode == 0, "jwt_probe failed (%d):\n%s" % (p.returncode, p.stderr)
    return json.loads(p.stdout)


def verified(config, cases):
    """The C verifier's answers to [(token, type)], the config accepted."""
    out = probe(config, verify=[{"token": t, "type": ty} for t, ty in cases])
    assert out["config_error"] is None, out["config_error"]
    return out["verify"]


# ---- password hashes ---------------------------------------------------------

PASSWORDS = ["correct horse battery staple", "pässwörd ✓ ünï", "", "x" * 100, "with $ and !"]
DJANGO_HASHERS = ["pbkdf2_sha256", "pbkdf2_sha1", "argon2", "argon2i", "bcrypt_sha256", "bcrypt"]

# An app whose command runs soom.auth over a file of cases: the Lua API as
# an app calls it.
PASSWORDS_COMMAND = """local soom = require "soom"
return soom.command {
    description = "soom.auth over a JSON file of cases",
    arguments = { { "op" }, { "cases" } },
    run = function(args)
        local f = assert(io.open(args.cases))
        local cases = assert(soom.json.decode(f:read("*a")))
        f:close()
        local out = {}
        for i, c in ipairs(cases) do
            if args.op == "make" then
                out[i] = soom.auth.hash_password(c.password, c.hasher, c.params) or soom.null
            else
                local ok, must_update = soom.auth.check_password(c.password, c.encoded, c.policy)
                out[i] = { ok = ok, must_update = must_update }
            end
        end
        io.write(soom.json.encode(soom.array(out)))
    end,
}
"""


def soom_auth(op, cases):
    with tempfile.TemporaryDirectory() as d:
        write_app(d, {"commands/passwords.lua": PASSWORDS_COMMAND, "settings.lua": "return {}"})
        path = os.path.join(d, "cases.json")
        with open(path, "w") as f:
            json.dump(cases, f)
        code, out, err = run_soom("--app", d, "passwords", "--op", op, "--cases", path,
                                  timeout=240)
        assert code == 0, "soom passwords failed (%d): %s" % (code, err)
        return json.loads(out)


def wrong(pw):
    """A wrong password that differs in its first byte (plain bcrypt reads
    72 bytes only, in Django as here)."""
    return "Z" + pw


# Django 3.2's costs for every hasher: what must_update compares against
DJANGO32 = {"iterations": 260000, "time_cost": 2, "memory_cost": 102400, "parallelism": 8,
            "rounds": 12}


def django4_scrypt(password, salt=None, n=2 ** 14, r=8, p=1):
    """Django 4.0's ScryptPasswordHasher.encode, which Debian's Django 3.2
    does not have: the same hashlib.scrypt call and the documented
    "scrypt$N$salt$r$p$hash" text."""
    salt = salt or "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(22))
    h = hashlib.scrypt(password.encode(), salt=salt.encode(), n=n, r=r, p=p, maxmem=0, dklen=64)
    return "scrypt$%d$%s$%d$%d$%s" % (n, salt, r, p, base64.b64encode(h).decode().strip())


def django4_scrypt_verify(password, encoded):
    """Django 4.0's ScryptPasswordHasher.verify: decode, encode again,
    compare in constant time."""
    algorithm, n, salt, r, p, _ = encoded.split("$", 6)
    assert algorithm == "scrypt"
    return hmac.compare_digest(encoded, django4_scrypt(password, salt, int(n), int(r), int(p)))


def test_django_hashes_check_in_soom():
    # every password with Django's default hasher, two with the others
    # (each hash costs a quarter of a second, three times over)
    cases = [{"hasher": h, "password": pw} for h in DJANGO_HASHERS
             for pw in (PASSWORDS if h == "pbkdf2_sha256" else [PASSWORDS[1], PASSWORDS[3]])]
    encoded = django({"op": "make_passwords", "cases": cases})
    for case, enc in zip(cases, encoded):
        prefix = "argon2$argon2i$" if case["hasher"] == "argon2i" else case["hasher"] + "$"
        assert enc.startswith(prefix), enc
    scrypt = [django4_scrypt(pw) for pw in PASSWORDS]
    hashes = [(c["hasher"], c["password"], e) for c, e in zip(cases, encoded)]
    hashes += [("scrypt", pw, e) for pw, e in zip(PASSWORDS, scrypt)]
    checks = []
    for hasher, pw, enc in hashes:
        if hasher == "scrypt":
            policy = {"hasher": "scrypt", "work_factor": 2 ** 14, "block_size": 8, "parallelism": 1}
        else:
            policy = dict(DJANGO32, hasher="argon2" if hasher == "argon2i" else hasher)
        checks.append({"password": pw, "encoded": enc, "policy": policy})
        checks.append({"password": wrong(pw), "encoded": enc, "policy": policy})
    # Django's plain bcrypt reads the first 72 bytes: so does Soom
    long_bcrypt = encoded[cases.index({"hasher": "bcrypt", "password": "x" * 100})]
    checks.append({"password": "x" * 72 + "y" * 28, "encoded": long_bcrypt})
    checks.append({"password": "x" * 71, "encoded": long_bcrypt})
    got = soom_auth("check", checks)
    eq([g["ok"] for g in got[-2:]], [True, False], "bcrypt's 72 bytes")
    for i, (hasher, pw, enc) in enumerate(hashes):
        right, bad = got[2 * i], got[2 * i + 1]
        eq(right["ok"], True, "%s hash of %r: the right password" % (hasher, pw))
        eq(bad["ok"], False, "%s hash of %r: a wrong password" % (hasher, pw))
        # at Django 3.2's own costs only argon2i asks to be rehashed (to argon2id)
        eq(right["must_update"], hasher == "argon2i", "%s must_update" % hasher)


def test_soom_must_update_on_django32_hashes():
    """Soom's defaults are Django 5.2's: Django 3.2's 260000 pbkdf2
    iterations are below them; a hash of another algorithm than the
    preferred one is reported too. Nothing is rewritten either way."""
    encoded = django({"op": "make_passwords", "cases": [
        {"hasher": "pbkdf2_sha256", "password": "pw"}, {"hasher": "bcrypt", "password": "pw"}]})
    got = soom_auth("check", [{"password": "pw", "encoded": e} for e in encoded])
    eq([g["ok"] for g in got], [True, True])
    eq([g["must_update"] for g in got], [True, True])
    got = soom_auth("check", [{"password": "pw", "encoded": encoded[0],
                               "policy": {"iterations": 260000}}])
    eq(got[0], {"ok": True, "must_update": False})


def test_unusable_and_malformed_never_match():
    unusable = django({"op": "make_passwords", "cases": [{"hasher": "pbkdf2_sha256",
                                                          "password": None}]})[0]
    assert unusable.startswith("!") and len(unusable) == 41, unusable
    cases = [{"password": "pw", "encoded": e} for e in
             [unusable, "!", "", "pbkdf2_sha256$", "md5$salt$hash", "sha1$$abc",
              "argon2$argon2id$v=19$m=8,t=1,p=1$$", "bcrypt$$2b$04$short"]]
    cases.append({"password": "pw"})  # no hash at all: a user that does not exist
    for c in cases:
        # each costs a default hash (test_auth_password.c measures that):
        # a cheap default here
        c["policy"] = {"iterations": 1000}
    got = soom_auth("check", cases)
    eq([g["ok"] for g in got], [False] * len(cases))


SOOM_HASHERS = [
    ("pbkdf2_sha256", None), ("pbkdf2_sha256", {"iterations": 260000}),
    ("pbkdf2_sha1", None), ("argon2", None), ("argon2", {"variety": "argon2i"}),
    ("argon2", {"time_cost": 3, "memory_cost": 65536, "parallelism": 4}),
    ("bcrypt_sha256", None), ("bcrypt", None), ("bcrypt", {"rounds": 10}), ("scrypt", None),
]


def test_soom_hashes_pass_django_check_password():
    passwords = ["pässwörd ✓ ünï", "x" * 100]
    cases = []
    for hasher, params in SOOM_HASHERS:
        for pw in passwords:
            case = {"hasher": hasher, "password": pw}
            if params:
                case["params"] = params
            cases.append(case)
    encoded = soom_auth("make", cases)
    for case, enc in zip(cases, encoded):
        assert isinstance(enc, str) and enc.startswith(case["hasher"] + "$"), enc
    each = len(passwords)  # hashes of each (hasher, params)
    assert encoded[0].startswith("pbkdf2_sha256$1000000$"), encoded[0]
    assert encoded[each].startswith("pbkdf2_sha256$260000$"), encoded[each]
    assert "$argon2i$" in encoded[each * 4], encoded[each * 4]
    assert "$m=65536,t=3,p=4$" in encoded[each * 5], encoded[each * 5]
    assert encoded[each * 8].startswith("bcrypt$$2b$10$"), encoded[each * 8]
    checks, scrypt = [], []
    for case, enc in zip(cases, encoded):
        if case["hasher"] == "scrypt":
            scrypt.append((case["password"], enc))
            continue
        checks.append({"password": case["password"], "encoded": enc})
        checks.append({"password": wrong(case["password"]), "encoded": enc})
    got = django({"op": "check_passwords", "cases": checks})
    for i in range(0, len(checks), 2):
        eq(got[i], True, "Django accepts %s" % checks[i]["encoded"])
        eq(got[i + 1], False, "Django refuses a wrong password for %s" % checks[i]["encoded"])
    for pw, enc in scrypt:
        eq(django4_scrypt_verify(pw, enc), True, "Django 4's scrypt accepts " + enc)
        eq(django4_scrypt_verify(wrong(pw), enc), False)


# ---- JWT ---------------------------------------------------------------------

SECRET = "django-insecure-" + secrets.token_hex(16)


def pem_pair(key):
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


RSA_PRIV, RSA_PUB = pem_pair(rsa.generate_private_key(public_exponent=65537, key_size=2048))
EC_KEYS = {"ES256": pem_pair(ec.generate_private_key(ec.SECP256R1())),
           "ES384": pem_pair(ec.generate_private_key(ec.SECP384R1())),
           "ES512": pem_pair(ec.generate_private_key(ec.SECP521R1()))}
ED_PRIV, ED_PUB = pem_pair(ed25519.Ed25519PrivateKey.generate())
# other keys of the same kinds, for signatures that must not verify
OTHER_PUB = {"RS": pem_pair(rsa.generate_private_key(public_exponent=65537, key_size=2048))[1],
             "ES": pem_pair(ec.generate_private_key(ec.SECP256R1()))[1]}


def keys_for(alg):
    """(SIMPLE_JWT settings, the C verifier's config) for an algorithm."""
    if alg.startswith("HS"):
        return ({"ALGORITHM": alg, "SIGNING_KEY": SECRET},
                {"algorithms": alg, "secrets": [{"secret": SECRET}]})
    priv, pub = (RSA_PRIV, RSA_PUB) if alg.startswith("RS") else EC_KEYS[alg]
    return ({"ALGORITHM": alg, "SIGNING_KEY": priv, "VERIFYING_KEY": pub},
            {"algorithms": alg, "pems": [{"pem": pub}]})


SIMPLEJWT_ALGS = ["HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512"]


def test_simplejwt_tokens_verify_in_soom():
    for alg in SIMPLEJWT_ALGS:
        sj, cfg = keys_for(alg)
        t = django({"op": "tokens", "jwt": sj, "user_id": 42})
        got = verified(cfg, [(t["access"], "access"), (t["refresh_access"], "access"),
                             (t["string_id"], "access"), (t["refresh"], "refresh"),
                             (t["refresh"], None)])
        for g in got:
            eq((g["ok"], g["reason"], g["alg"]), (True, "valid", alg), alg)
        eq((got[0]["user_id"], got[0]["user_id_is_int"], got[0]["token_type"]),
           ("42", True, "access"), alg)
        assert len(got[0]["jti"]) == 32 and int(got[0]["jti"], 16) >= 0, got[0]
        eq((got[2]["user_id"], got[2]["user_id_is_int"]), ("b5d1c0de-string-id", False))
        eq(got[3]["token_type"], "refresh")


def test_simplejwt_refusals():
    sj, cfg = keys_for("HS256")
    t = django({"op": "tokens", "jwt": sj, "user_id": 42})
    other = django({"op": "tokens", "jwt": {"ALGORITHM": "HS256", "SIGNING_KEY": "another"},
                    "user_id": 42})
    head, body, sig = t["access"].split(".")
    forged = "%s.%s.%s" % (head, body, other["access"].split(".")[2])
    flipped = "%s.%s.%s" % (head, body, sig[:10] + ("A" if sig[10] != "A" else "B") + sig[11:])
    cases = [
        (t["expired"], "access", "expired"),
        (t["not_yet_valid"], "access", "not_yet_valid"),
        (t["refresh"], "access", "wrong_token_type"),
        (t["access"], "refresh", "wrong_token_type"),
        (forged, "access", "bad_signature"),
        (flipped, "access", "bad_signature"),
        (other["access"], "access", "bad_signature"),
        ("%s.%s" % (head, body), "access", "malformed"),
        ("%s.%s." % (head, body), "access", "bad_signature"),
        (t["access"] + "=", "access", "malformed"),
        ("%s.%s.+%s" % (head, body, sig[1:]), "access", "malformed"),
        ("%s.%s.%s" % (head, body.replace(body[5], "*", 1), sig), "access", "malformed"),
        (t["access"][:len(t["access"]) // 2], "access", None),
        (t["access"][:-3], "access", None),
        (t["big"], "access", "too_long"),
    ]
    got = verified(cfg, [(c[0], c[1]) for c in cases])
    for (token, _, want), g in zip(cases, got):
        eq(g["ok"], False, "refused: %s" % token[:60])
        if want:
            eq(g["reason"], want, token[:60])
        else:  # cut anywhere: malformed or a signature that cannot match
            assert g["reason"] in ("malformed", "bad_signature"), g
    # simplejwt agrees with each refusal of its own tokens
    back = django({"op": "check_tokens", "jwt": sj, "cases": [
        {"token": t["expired"]}, {"token": t["not_yet_valid"]}, {"token": t["refresh"]},
        {"token": forged}, {"token": t["access"]}]})
    eq([b["ok"] for b in back], [False, False, False, False, True])


def test_leeway():
    sj, cfg = keys_for("HS256")
    t = django({"op": "tokens", "jwt": sj, "user_id": 42})  # expired 30 s ago
    eq(verified(dict(cfg, leeway=60), [(t["expired"], "access")])[0]["ok"], True)
    eq(verified(dict(cfg, leeway=10), [(t["expired"], "access")])[0]["reason"], "expired")
    back = django({"op": "check_tokens", "jwt": dict(sj, LEEWAY=60),
                   "cases": [{"token": t["expired"]}]})
    eq(back[0]["ok"], True, "simplejwt with the same leeway agrees")


def test_audience_and_issuer():
    sj, cfg = keys_for("RS256")
    cfg = dict(cfg, audience="orders", issuer="https://auth.example")
    good = django({"op": "tokens", "user_id": 1,
                   "jwt": dict(sj, AUDIENCE="orders", ISSUER="https://auth.example")})
    wrong_aud = django({"op": "tokens", "user_id": 1,
                        "jwt": dict(sj, AUDIENCE="billing", ISSUER="https://auth.example")})
    wrong_iss = django({"op": "tokens", "user_id": 1,
                        "jwt": dict(sj, AUDIENCE="orders", ISSUER="https://evil.example")})
    neither = django({"op": "tokens", "user_id": 1, "jwt": sj})
    got = verified(cfg, [(good["access"], "access"), (wrong_aud["access"], "access"),
                         (wrong_iss["access"], "access"), (neither["access"], "access")])
    eq([g["reason"] for g in got], ["valid", "bad_audience", "bad_issuer", "bad_issuer"])


def simplejwt_payload(user_id=42, token_type="access", lifetime=300):
    now = int(time.time())
    return {"token_type": token_type, "exp": now + lifetime, "iat": now,
            "jti": secrets.token_hex(16), "user_id": user_id}


def test_eddsa_from_pyjwt():
    # simplejwt 5.2 (Debian 12) does not offer EdDSA: the token is made by
    # PyJWT, which simplejwt signs with, in simplejwt's claim shape
    token = jwt.encode(simplejwt_payload(), ED_PRIV, algorithm="EdDSA")
    got = verified({"pems": [{"pem": ED_PUB}]}, [(token, "access")])
    eq((got[0]["ok"], got[0]["alg"], got[0]["user_id"]), (True, "EdDSA", "42"))
    other_priv, _ = pem_pair(ed25519.Ed25519PrivateKey.generate())
    forged = jwt.encode(simplejwt_payload(), other_priv, algorithm="EdDSA")
    eq(verified({"pems": [{"pem": ED_PUB}]}, [(forged, "access")])[0]["reason"], "bad_signature")


def jwk(algorithm, pem, kid):
    key = algorithm.to_jwk(serialization.load_pem_public_key(pem.encode()))
    d = json.loads(key)
    d["kid"] = kid
    return d


def test_jwks_and_kid():
    doc = json.dumps({"keys": [jwk(RSAAlgorithm, RSA_PUB, "rsa-1"),
                               jwk(ECAlgorithm, EC_KEYS["ES256"][1], "ec-1"),
                               jwk(OKPAlgorithm, ED_PUB, "ed-1")]})
    payload = simplejwt_payload()
    cases = [
        (jwt.encode(payload, RSA_PRIV, algorithm="RS256", headers={"kid": "rsa-1"}), "valid"),
        (jwt.encode(payload, EC_KEYS["ES256"][0], algorithm="ES256", headers={"kid": "ec-1"}),
         "valid"),
        (jwt.encode(payload, ED_PRIV, algorithm="EdDSA", headers={"kid": "ed-1"}), "valid"),
        (jwt.encode(payload, RSA_PRIV, algorithm="RS256", headers={"kid": "rsa-2"}),
         "unknown_kid"),
        (jwt.encode(payload, RSA_PRIV, algorithm="RS256"), "no_key"),
        # the right key id with the other family's algorithm
        (jwt.encode(payload, EC_KEYS["ES256"][0], algorithm="ES256", headers={"kid": "rsa-1"}),
         "no_key"),
    ]
    got = verified({"jwks": [doc]}, [(c[0], "access") for c in cases])
    eq([g["reason"] for g in got], [c[1] for c in cases])


def test_alg_none_and_confusion():
    payload = simplejwt_payload()
    unsigned = jwt.encode(payload, None, algorithm="none")
    assert unsigned.endswith("."), unsigned
    # HS256 "signed" with the RSA public key's PEM as the secret: what a
    # verifier that let the token choose the algorithm would accept. PyJWT
    # refuses to make it, so it is made by hand.
    seg = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()
    signing_input = seg({"alg": "HS256", "typ": "JWT"}) + "." + seg(payload)
    mac = hmac.new(RSA_PUB.encode(), signing_input.encode(), hashlib.sha256).digest()
    confused = signing_input + "." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
    cfg = {"pems": [{"pem": RSA_PUB}]}
    got = verified(cfg, [(unsigned, "access"), (confused, "access")])
    eq([g["reason"] for g in got], ["unsigned", "no_key"])
    # the same with every algorithm accepted and an HS secret configured too
    got = verified({"pems": [{"pem": RSA_PUB}], "secrets": [{"secret": SECRET}]},
                   [(confused, "access")])
    eq(got[0]["reason"], "bad_signature")
    # and the public key is refused as an HMAC secret
    out = probe({"secrets": [{"secret": RSA_PUB}]})
    assert out["config_error"] and "PEM" in out["config_error"], out


def test_soom_tokens_pass_simplejwt():
    for alg in ["HS256", "HS512", "RS256", "ES256"]:
        sj, cfg = keys_for(alg)
        if not alg.startswith("HS"):
            priv = RSA_PRIV if alg.startswith("RS") else EC_KEYS[alg][0]
            cfg = {"algorithms": alg, "pems": [{"pem": priv}]}
        sj = dict(sj, AUDIENCE="orders", ISSUER="https://auth.example")
        cfg = dict(cfg, audience="orders", issuer="https://auth.example")
        out = probe(cfg, issue=[
            {"token_type": "access", "user_id": "42", "is_int": True, "lifetime": 300},
            {"token_type": "access", "user_id": "u-7", "is_int": False, "lifetime": 300},
            {"token_type": "refresh", "user_id": "42", "is_int": True, "lifetime": 86400},
            {"token_type": "access", "user_id": "42", "is_int": True, "lifetime": -60},
        ])
        assert out["config_error"] is None, out["config_error"]
        tokens = [i["token"] for i in out["issue"]]
        assert all(tokens), out
        back = django({"op": "check_tokens", "jwt": sj, "cases": [
            {"token": tokens[0]}, {"token": tokens[1]}, {"token": tokens[2], "type": "refresh"},
            {"token": tokens[2]}, {"token": tokens[3]}]})
        eq([b["ok"] for b in back], [True, True, True, False, False], alg)
        eq((back[0]["user_id"], back[1]["user_id"], back[2]["user_id"]), (42, "u-7", 42), alg)
        assert "wrong type" in back[3]["error"], back[3]
        # simplejwt under another key refuses them: its check is real
        if alg.startswith("HS"):
            wrong = dict(sj, SIGNING_KEY="another secret")
        else:
            wrong = dict(sj, VERIFYING_KEY=OTHER_PUB[alg[:2]])
        back = django({"op": "check_tokens", "jwt": wrong, "cases": [{"token": tokens[0]}]})
        eq(back[0]["ok"], False, alg)
    out = probe({"pems": [{"pem": ED_PRIV}]}, issue=[
        {"token_type": "access", "user_id": "42", "is_int": True, "lifetime": 300}])
    payload = jwt.decode(out["issue"][0]["token"], ED_PUB, algorithms=["EdDSA"])
    eq((payload["token_type"], payload["user_id"]), ("access", 42))
    assert payload["exp"] - payload["iat"] == 300 and len(payload["jti"]) == 32, payload


if __name__ == "__main__":
    main(globals())
