-- Settings of the sample app. Every key can be overridden from the
-- environment: SOOM_PORT=9000, SOOM_SERVER=prefork, DATABASE_URL=...
return {
    port = 8000,
    log_level = "info",
}
