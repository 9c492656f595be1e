"""Declarations the core refuses stop start-up with a message naming the
resource and what is wrong: a throttle rate that does not parse, a table
name that is not one, a JWT key that does not load or a secret that is a
PEM key (the algorithm-confusion trap), a list of API keys that does not
parse."""

import tempfile

from harness import eq, main, start_failure, write_app

CASES = [
    ('soom.Resource { route = "/x", throttles = { soom.throttle.anon "5 per hour" }, get = ok }',
     'resources/x.lua: the throttle rate "5 per hour" of scope "anon" is not N/s'),
    ('soom.Resource { route = "/x", authentication = { soom.auth.token { table = "auth token" } }, '
     'get = ok }', "the token table, its key and user columns must be table and column names"),
    ('soom.Resource { route = "/x", authentication = { soom.auth.token { user = { table = '
     '"users; drop" } } }, get = ok }', 'the user table must be a table name, not "users; drop"'),
    ('soom.Resource { route = "/x", authentication = { soom.auth.jwt { public_key = '
     '"-----BEGIN PUBLIC KEY-----\\nAAAA\\n-----END PUBLIC KEY-----\\n" } }, get = ok }',
     "resources/x.lua: soom.auth.jwt:"),
    ('soom.Resource { route = "/x", authentication = { soom.auth.jwt { secret = '
     '"-----BEGIN PUBLIC KEY-----\\nAAAA\\n-----END PUBLIC KEY-----\\n" } }, get = ok }',
     "resources/x.lua: soom.auth.jwt:"),
    ('soom.Resource { route = "/x", authentication = { soom.auth.api_key { keys = { ci = "" } } }, '
     'get = ok }', "resources/x.lua: soom.auth.api_key:"),
    ('soom.Resource { route = "/x", permissions = { soom.perm.is_admin, "nope" }, get = ok }',
     "resources/x.lua: permissions are soom.perm values"),
]


def test_refused_declarations():
    for resource, message in CASES:
        root = tempfile.mkdtemp(prefix="soom-auth-start-")
        write_app(root, {"settings.lua": "return {}", "resources/x.lua":
                         'local soom = require "soom"\nlocal ok = function() return {} end\n'
                         "return " + resource + "\n"})
        code, log = start_failure(root)
        eq(code != 0, True, resource)
        eq(message in log, True, "%s\n  wanted %r in:\n%s" % (resource, message, log))


main(globals())
