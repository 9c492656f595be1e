--- soom changepassword: a new password for a user, hashed as Django hashes
-- it (its sessions elsewhere are Django's business; its tokens stay).
local soom = require "soom"
local db = require "soom.db"
local users = require "soom.core.users"

return soom.command {
    description = "Change a user's password (Django's auth_user)",
    arguments = {
        { "username", positional = true, required = true },
        { "password_stdin", type = "boolean",
          help = "read the password from standard input (also when it is not a terminal)" },
        { "iterations", type = "number", help = "pbkdf2 iterations (default: Django 5.2's)" },
        users.TABLE_OPTIONS[1],
    },
    run = function(args)
        users.open()
        local user = users.find(args.user_table, args.username)
        if not user then
            io.stderr:write(("soom changepassword: no user named %s\n"):format(args.username))
            return 1
        end
        local hash = users.hash(users.password(args.password_stdin), args.iterations)
        db.query(("UPDATE %s SET password = $1 WHERE id = $2"):format(users.ident(args.user_table,
            "user-table")), hash, user.id)
        io.write(("password changed for %s\n"):format(args.username))
        return 0
    end,
}
