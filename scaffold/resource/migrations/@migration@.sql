-- The "@table@" table of models/@model@.lua.
@create_table@
