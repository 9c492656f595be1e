-- `soom hello --who Paul`: the sample app's own command.
local soom = require "soom"

return soom.command {
    description = "Say hello from the sample app",
    arguments = {
        { "who", default = "world", help = "whom to greet" },
        { "times", type = "number", default = 1, help = "how many times" },
    },
    run = function(args)
        for _ = 1, args.times do
            print("hello " .. args.who)
        end
    end,
}
