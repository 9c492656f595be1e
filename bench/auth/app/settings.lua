-- As bench/app: more threads than cores for a database-bound service.
return {
    threads = 4,
    pool = { max = 8 },
}
