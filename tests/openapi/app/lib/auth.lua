-- Authentication classes, permissions and throttles as plain tables of the
-- shape the OpenAPI generator reads (docs/OPENAPI.md).
return {
    bearer = {
        name = "bearerAuth",
        header = 'Bearer realm="api"',
        openapi = { type = "http", scheme = "bearer", bearerFormat = "JWT" },
    },
    token = {
        name = "tokenAuth",
        header = "Token",
        openapi = {
            type = "apiKey", ["in"] = "header", name = "Authorization",
            description = "Authorization: Token <key>",
        },
    },
    api_key = {
        name = "apiKeyQuery",
        openapi = { type = "apiKey", ["in"] = "query", name = "api_key" },
    },
    is_authenticated = { openapi_anonymous = false },
    read_only = { openapi_anonymous = "read" },
    user_rate = { rate = "1000/h" },
}
