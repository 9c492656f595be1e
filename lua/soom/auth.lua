--- soom.auth: authentication for apps.
--
-- Password hashes in Django's formats, made and checked in C
-- (soom.core.auth), so a user of a Django deployment sharing the database
-- keeps one password across both. docs/AUTH.md lists the formats, the
-- parameters and their costs.

local core = require "soom.core.auth"

local _M = {}

--- hash_password(password [, hasher [, params]]) -> hash | nil, message
--
-- A new hash of `password` in Django's format, with a random salt.
-- `hasher`: "pbkdf2_sha256" (the default), "pbkdf2_sha1", "argon2",
-- "bcrypt_sha256", "bcrypt" or "scrypt". `params`, Django's names for the
-- costs: iterations (pbkdf2), time_cost, memory_cost (KiB), parallelism
-- and variety ("argon2id" or "argon2i") (argon2), rounds (bcrypt),
-- work_factor, block_size and parallelism (scrypt). Raises on an unknown
-- hasher or parameter; returns nil and a message for a password no hash
-- can be made of (longer than 4096 bytes, or with a NUL byte for bcrypt).
_M.hash_password = core.hash_password

--- check_password(password, encoded [, params]) -> ok, must_update
--
-- Whether `password` matches the stored hash `encoded`, compared in
-- constant time. `must_update` is true when the hash is of another
-- algorithm than params.hasher (default pbkdf2_sha256) or weaker than
-- `params` (the same table as hash_password's, plus `hasher`); nothing is
-- ever rewritten. An unusable ("!...") or missing (nil) hash is false, and
-- costs as much time as a real check, as in Django; a malformed one is
-- false with a message as third value.
_M.check_password = core.check_password

return _M
