-- The benchmark app's settings. Resources that wait on PostgreSQL block
-- their thread for the query's round trip, so a database-bound service
-- runs more threads than cores: 4 on the 2-core benchmark machine (the
-- default is one per core, right for CPU-bound work).
-- The relations tables exist only once bench/relations.sh made them: a
-- missing one is a warning here, not a refusal to start.
return {
    threads = 4,
    pool = { max = 8 },
    check = { drift = "warn" },
}
