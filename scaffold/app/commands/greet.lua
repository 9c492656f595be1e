-- `soom greet --who Ada` (from the app folder, or `soom --app DIR greet`):
-- the app's own command. `soom help` lists it.
local soom = require "soom"
local greeting = require "lib.greeting"

return soom.command {
    description = "Print the greeting of GET /hello",
    arguments = {
        { "who", default = "world", help = "whom to greet" },
    },
    run = function(args)
        io.write(greeting.text(args.who), "\n")
        return 0
    end,
}
