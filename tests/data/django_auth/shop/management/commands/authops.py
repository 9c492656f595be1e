"""Django's side of the authentication tests: one JSON request on standard
input, one JSON answer on standard output, every artefact made by Django,
DRF and simplejwt themselves over the test database.

    seed       users (each hasher, flags, permissions, groups), DRF tokens,
               simplejwt pairs (recorded as outstanding), orders
    jwt_cases  simplejwt and PyJWT tokens for every refusal
    matrix     what DRF answers (status, WWW-Authenticate, error code) for
               each case of classes x permission x credentials x method
    verify     simplejwt's verdict on tokens Soom issued
    blacklisted  whether simplejwt's blacklist holds each jti
    check_password, token_of  what Django sees of a user Soom's commands made
"""
import base64
import json
import sys
from datetime import timedelta

import jwt as pyjwt
from django.contrib.auth.hashers import PBKDF2PasswordHasher, get_hasher, make_password
from django.contrib.auth.models import Group, Permission, User
from django.core.management.base import BaseCommand
from rest_framework import permissions
from rest_framework.authentication import (BaseAuthentication, BasicAuthentication,
                                           TokenAuthentication)
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from shop.models import Order


class FastPBKDF2(PBKDF2PasswordHasher):
    """Django's PBKDF2 at 1,000 iterations: the matrix checks hundreds of
    Basic credentials, each once on both sides."""
    iterations = 1000


def hasher(name):
    return FastPBKDF2() if name == "fast" else get_hasher(name)


def perm(label):
    app, codename = label.split(".")
    return Permission.objects.get(content_type__app_label=app, codename=codename)


def seed(req):
    for g in req.get("groups", []):
        group = Group.objects.create(name=g["name"])
        group.permissions.set([perm(p) for p in g.get("perms", [])])
    out = {}
    for u in req["users"]:
        user = User(username=u["username"], is_staff=u.get("is_staff", False),
                    is_active=u.get("is_active", True),
                    is_superuser=u.get("is_superuser", False))
        user.password = make_password(u["password"], hasher=hasher(u.get("hasher", "fast")))
        user.save()
        user.user_permissions.set([perm(p) for p in u.get("perms", [])])
        user.groups.set([Group.objects.get(name=n) for n in u.get("groups", [])])
        refresh = RefreshToken.for_user(user)
        out[user.username] = {"id": user.id, "token": Token.objects.create(user=user).key,
                              "refresh": str(refresh), "access": str(refresh.access_token),
                              "password_hash": user.password}
    orders = [Order.objects.create(owner=User.objects.get(username=o["owner"]),
                                   title=o["title"]).id for o in req.get("orders", [])]
    return {"users": out, "orders": orders}


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt_cases(req):
    """A token of each kind for user `user_id`, signed as simplejwt signs
    (PyJWT with its SIGNING_KEY) unless the case is about the signature."""
    secret = api_settings.SIGNING_KEY
    user = User.objects.get(id=req["user_id"])
    good = AccessToken.for_user(user)

    def variant(**claims):
        t = AccessToken.for_user(user)
        for k, v in claims.items():
            t[k] = v
        return str(t)

    expired = AccessToken.for_user(user)
    expired.set_exp(lifetime=timedelta(seconds=-60))
    payload = dict(good.payload)
    header = b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    body = b64(json.dumps(payload).encode())
    parts = str(good).split(".")
    sig = parts[2]
    flipped = sig[:-2] + ("A" if sig[-2] != "A" else "B") + sig[-1]
    rsa_private, rsa_public = req["rsa_private"], req["rsa_public"]
    # algorithm confusion: HS256 "signed" with the RSA public key as secret,
    # made by hand since PyJWT refuses to use a PEM as an HMAC key
    import hashlib
    import hmac
    hs_header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    signing_input = (hs_header + "." + body).encode()
    confusion = signing_input.decode() + "." + b64(
        hmac.new(rsa_public.encode(), signing_input, hashlib.sha256).digest())
    return {
        "good": str(good),
        "expired": str(expired),
        "not_yet_valid": variant(nbf=int(good["iat"]) + 3600),
        "wrong_audience": pyjwt.encode(dict(payload, aud="someone-else", iss="soom-tests"),
                                       secret, algorithm="HS256"),
        "right_audience": pyjwt.encode(dict(payload, aud="soom-api", iss="soom-tests"),
                                       secret, algorithm="HS256"),
        "wrong_issuer": pyjwt.encode(dict(payload, aud="soom-api", iss="another-issuer"),
                                     secret, algorithm="HS256"),
        "alg_none": header + "." + body + ".",
        "confusion": confusion,
        "rs256": pyjwt.encode(payload, rsa_private, algorithm="RS256"),
        "bad_signature": parts[0] + "." + parts[1] + "." + flipped,
        "truncated": str(good)[:-10],
        "unknown_kid": pyjwt.encode(payload, rsa_private, algorithm="RS256",
                                    headers={"kid": "nobody-has-this-kid"}),
        "known_kid": pyjwt.encode(payload, rsa_private, algorithm="RS256",
                                  headers={"kid": "soom-test-key"}),
        "refresh_as_access": str(RefreshToken.for_user(user)),
    }


# ---- the matrix: DRF's own decisions --------------------------------------------------

class KeyAuthentication(BaseAuthentication):
    """X-Key: <username>, with a WWW-Authenticate of its own."""
    def authenticate(self, request):
        name = request.META.get("HTTP_X_KEY")
        if name is None:
            return None
        user = User.objects.filter(username=name, is_active=True).first()
        if user is None:
            raise AuthenticationFailed("unknown key")
        return (user, name)

    def authenticate_header(self, request):
        return 'Key realm="api"'


class SilentKeyAuthentication(KeyAuthentication):
    """The same class with no WWW-Authenticate: its refusals are 403s."""
    def authenticate_header(self, request):
        return None


class AllowHeader(permissions.BasePermission):
    """X-Allow: yes"""
    def has_permission(self, request, view):
        return request.META.get("HTTP_X_ALLOW") == "yes"


CLASSES = {"token": TokenAuthentication, "basic": BasicAuthentication, "jwt": JWTAuthentication,
           "key": KeyAuthentication, "silent_key": SilentKeyAuthentication}
PERMISSIONS = {
    "allow_any": [permissions.AllowAny],
    "is_authenticated": [permissions.IsAuthenticated],
    "is_admin": [permissions.IsAdminUser],
    "read_only": [permissions.IsAuthenticatedOrReadOnly],
    "django_model": [permissions.DjangoModelPermissions],
    "django_model_anon": [permissions.DjangoModelPermissionsOrAnonReadOnly],
    "lua": [AllowHeader],
    "any_of": [permissions.IsAdminUser | AllowHeader],
    "not_admin": [~permissions.IsAdminUser],
    "all_of": [permissions.IsAuthenticated, AllowHeader],
    "none": [],
}


def decide(case):
    attrs = {
        "authentication_classes": [CLASSES[c] for c in case["classes"]],
        "permission_classes": PERMISSIONS[case["permission"]],
        "queryset": Order.objects.all(),
        "get": lambda self, request: Response({"ok": True}),
        "post": lambda self, request: Response({"ok": True}),
    }
    view = type("MatrixView", (APIView,), attrs).as_view()
    factory = APIRequestFactory()
    headers = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in case["headers"].items()}
    make = factory.get if case["method"] == "GET" else factory.post
    resp = view(make("/m", **headers))
    resp.render()
    data = resp.data if isinstance(resp.data, dict) else {}
    code = getattr(data.get("detail"), "code", None) or data.get("code")
    return {"status": resp.status_code, "www_authenticate": resp.get("WWW-Authenticate"),
            "code": code}


def matrix(req):
    return [decide(c) for c in req["cases"]]


def verify(req):
    out = []
    for case in req["cases"]:
        cls = RefreshToken if case.get("type") == "refresh" else AccessToken
        try:
            t = cls(case["token"])
            out.append({"ok": True, "error": None, "user_id": t.get("user_id"),
                        "claims": dict(t.payload)})
        except TokenError as e:
            out.append({"ok": False, "error": str(e), "user_id": None, "claims": None})
    return out


def blacklisted(req):
    return [BlacklistedToken.objects.filter(token__jti=j).exists() for j in req["jtis"]]


def check_password(req):
    user = User.objects.filter(username=req["username"]).first()
    return {"exists": user is not None,
            "ok": bool(user and user.check_password(req["password"])),
            "is_staff": bool(user and user.is_staff),
            "is_superuser": bool(user and user.is_superuser)}


def token_of(req):
    t = Token.objects.filter(user__username=req["username"]).first()
    return t.key if t else None


OPS = {"seed": seed, "jwt_cases": jwt_cases, "matrix": matrix, "verify": verify,
       "blacklisted": blacklisted, "check_password": check_password, "token_of": token_of}


class Command(BaseCommand):
    help = "JSON in, JSON out: Django's side of Soom's authentication tests"

    def handle(self, *args, **options):
        req = json.load(sys.stdin)
        sys.stdout.write(json.dumps(OPS[req["op"]](req)))
