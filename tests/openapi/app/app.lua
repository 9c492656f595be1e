-- A test app that uses every feature the OpenAPI document describes: every
-- generic class, filters, orderings, every pagination, validation and
-- query schemas with references, hand-written handlers with declared
-- responses, overrides, and authentication classes that carry an openapi
-- security scheme.
return {
    name = "everything",
    title = "Everything",
    summary = "Every feature of the OpenAPI generator",
    version = "2.1.0",
    description = "The test app of Soom's OpenAPI generator.",
    terms_of_service = "https://soom.invalid/terms",
    contact = { name = "Soom tests", email = "tests@soom.invalid" },
    license = { name = "Apache 2.0", identifier = "Apache-2.0" },
    servers = { "https://api.soom.invalid/v2", { url = "http://127.0.0.1:8000", description = "local" } },
    tags = { { name = "custom", description = "Operations tagged by hand." } },
}
