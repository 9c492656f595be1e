return { openapi = { ui = "on" } }
