--- soom token create|revoke USER: DRF's token of a user (authtoken_token,
-- one per user), made as DRF's Token.generate_key() makes keys. `create`
-- prints the key alone on standard output (for scripts); with --hashed
-- the table keeps only its SHA-256 (soom.auth.token { hashed = true }),
-- so the key is shown this once.
local soom = require "soom"
local auth = require "soom.auth"
local db = require "soom.db"
local users = require "soom.core.users"

local function token_table(args)
    return users.ident(args.table, "table"), users.ident(args.key_column, "key-column"),
        users.ident(args.user_column, "user-column")
end

local function create(args, user)
    local t, key, uid = token_table(args)
    local have = db.one(("SELECT %s AS key FROM %s WHERE %s = $1"):format(key, t, uid), user.id)
    if have and not args.reset then
        if args.hashed then
            io.stderr:write(("soom token: %s has a token already (--reset replaces it)\n")
                :format(args.username))
            return 1
        end
        io.write(have.key, "\n")
        return 0
    end
    local new = auth.make_token_key()
    db.transaction(function(tx)
        tx:query(("DELETE FROM %s WHERE %s = $1"):format(t, uid), user.id)
        local stored = args.hashed and auth.sha256(new) or new
        if args.table == "authtoken_token" then
            tx:query(("INSERT INTO %s (%s, created, %s) VALUES ($1, now(), $2)"):format(t, key, uid),
                stored, user.id)
        else
            tx:query(("INSERT INTO %s (%s, %s) VALUES ($1, $2)"):format(t, key, uid), stored,
                user.id)
        end
    end)
    io.write(new, "\n")
    return 0
end

local function revoke(args, user)
    local t, _, uid = token_table(args)
    local _, n = db.query(("DELETE FROM %s WHERE %s = $1"):format(t, uid), user.id)
    io.write(("%s token%s revoked for %s\n"):format(n, n == 1 and "" or "s", args.username))
    return 0
end

return soom.command {
    description = "Create (or show) or revoke a user's DRF token",
    arguments = {
        { "action", positional = true, required = true, help = "create or revoke" },
        { "username", positional = true, required = true },
        { "reset", type = "boolean", help = "create: replace the user's token with a new one" },
        { "hashed", type = "boolean", help = "keep only the key's SHA-256 in the table" },
        { "table", default = "authtoken_token" },
        { "key_column", default = "key" },
        { "user_column", default = "user_id" },
        users.TABLE_OPTIONS[1],
    },
    run = function(args)
        if args.action ~= "create" and args.action ~= "revoke" then
            io.stderr:write("soom token: the action is create or revoke\n")
            return 2
        end
        users.open()
        local user = users.find(args.user_table, args.username)
        if not user then
            io.stderr:write(("soom token: no user named %s\n"):format(args.username))
            return 1
        end
        return (args.action == "create" and create or revoke)(args, user)
    end,
}
