--- soom help: list the commands, or describe one.
local soom = require "soom"
local cli = require "soom.cli"

return soom.command {
    description = "List the commands, or show how to use one",
    arguments = {
        { "command", positional = true, help = "a command to describe" },
    },
    run = function(args)
        if args.command then
            local cmd, entry = cli.find(args.command)
            if not cmd then
                io.stderr:write(("soom: unknown command %q\n"):format(args.command))
                return 2
            end
            io.write(("usage: soom %s\n\n%s\n"):format(cmd:usage(args.command), cmd.description or ""))
            if #cmd.arguments > 0 then
                io.write("\narguments:\n")
                for _, spec in ipairs(cmd.arguments) do
                    local name = spec.positional and spec[1]:upper() or "--" .. spec[1]
                    local default = ""
                    if spec.default ~= nil then
                        default = (" (default: %s)"):format(tostring(spec.default))
                    end
                    io.write(("  %-18s %s%s\n"):format(name, spec.help or "", default))
                end
            end
            if entry.origin == "app" then
                io.write(("\n(from the app: %s)\n"):format(entry.path))
            end
            return 0
        end
        io.write("usage: soom [--app DIR] <command> [arguments]\n\ncommands:\n")
        local all = cli.commands()
        for _, name in ipairs(cli.sorted_names()) do
            local ok, cmd = pcall(cli.find, name)
            local desc = ok and cmd.description or ("(cannot load: %s)"):format(tostring(cmd))
            local origin = all[name].origin == "app" and "  [app]" or ""
            io.write(("  %-14s %s%s\n"):format(name, desc or "", origin))
        end
        io.write("\n`soom help <command>` shows its arguments.\n")
        return 0
    end,
}
