--- soom version: print the version.
local soom = require "soom"

return soom.command {
    description = "Print the version of soom",
    run = function()
        io.write(("soom %s (%s)\n"):format(soom.VERSION, jit and jit.version or _VERSION))
    end,
}
