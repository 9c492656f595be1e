-- The benchmark app's settings. Under the default server (async) a request
-- waiting on PostgreSQL holds no thread, so the app runs one thread per
-- core (the default); bench/run.sh measures the threads model with
-- SOOM_THREADS=4, since a thread of that model waits out each query.
-- The relations tables exist only once bench/relations.sh made them: a
-- missing one is a warning here, not a refusal to start.
return {
    pool = { max = 8 },
    check = { drift = "warn" },
}
