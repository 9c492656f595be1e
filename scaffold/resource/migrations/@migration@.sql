-- The "@table@" table of models/@model@.lua.
@create_table@
-- the list pages newest first: (created_at DESC, id) is its cursor's order
CREATE INDEX "@table@_created_at_id" ON "@table@" ("created_at" DESC, "id");
