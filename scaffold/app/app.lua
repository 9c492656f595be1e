-- @app@: a Soom service. `soom run` serves it and `soom test` tests it;
-- README.md says how to build, deploy and observe it.
return {
    name = "@app@",
}
