-- The authentication benchmark's app: the same by-id read three times,
-- open, behind DRF tokens (cache on) and behind simplejwt's HS256 JWTs.
return { name = "bench_auth" }
