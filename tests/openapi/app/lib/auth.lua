-- The authentication classes, permissions and throttles of the app: the
-- real ones, which carry the OpenAPI fields the generator reads
-- (docs/OPENAPI.md's contract).
local soom = require "soom"

return {
    bearer = soom.auth.jwt { name = "bearerAuth", secret = "the OpenAPI tests' JWT secret" },
    token = soom.auth.token,
    api_key = soom.auth.api_key { name = "apiKeyQuery", query = "api_key", keys = { docs = "k" } },
    is_authenticated = soom.perm.is_authenticated,
    read_only = soom.perm.is_authenticated_or_read_only,
    user_rate = soom.throttle.user "1000/h",
}
