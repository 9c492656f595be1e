--- soom createuser: a user in Django's user table, with a Django password
-- hash, as `manage.py createsuperuser` makes one.
local soom = require "soom"
local db = require "soom.db"
local users = require "soom.core.users"

return soom.command {
    description = "Create a user (Django's auth_user) with a password hashed as Django hashes it",
    arguments = {
        { "username", positional = true, required = true },
        { "email", default = "" },
        { "first_name", default = "" },
        { "last_name", default = "" },
        { "staff", type = "boolean", help = "is_staff: an admin (soom.perm.is_admin)" },
        { "superuser", type = "boolean", help = "is_superuser (and is_staff): every permission" },
        { "password_stdin", type = "boolean",
          help = "read the password from standard input (also when it is not a terminal)" },
        { "no_password", type = "boolean", help = "an unusable password (token-only users)" },
        { "iterations", type = "number", help = "pbkdf2 iterations (default: Django 5.2's)" },
        users.TABLE_OPTIONS[1],
    },
    run = function(args)
        users.open()
        if users.find(args.user_table, args.username) then
            io.stderr:write(("soom createuser: a user named %s exists already\n")
                :format(args.username))
            return 1
        end
        local hash = args.no_password and users.unusable()
            or users.hash(users.password(args.password_stdin), args.iterations)
        local row = db.one(("INSERT INTO %s (password, is_superuser, username, first_name, "
            .. "last_name, email, is_staff, is_active, date_joined) VALUES ($1, $2, $3, $4, $5, "
            .. "$6, $7, true, now()) RETURNING id"):format(users.ident(args.user_table,
            "user-table")), hash, args.superuser, args.username, args.first_name, args.last_name,
            args.email, args.staff or args.superuser)
        io.write(("created user %s (id %s)\n"):format(args.username, tostring(row.id)))
        return 0
    end,
}
