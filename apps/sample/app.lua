-- The sample app: one resource of each kind the framework offers. Its
-- fields here are the `info` of its OpenAPI document (/openapi.json).
return {
    name = "sample",
    title = "Soom sample",
    version = "1.0.0",
    description = "One resource of each kind Soom offers: handlers written in Lua, "
        .. "validation by JSON Schema, and a CRUD API over PostgreSQL from declarations only.",
    contact = { name = "The Soom developers" },
    -- the sample is meant to be copied
    license = { name = "CC0 1.0 Universal", identifier = "CC0-1.0" },
}
