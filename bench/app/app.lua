-- The benchmark app: the endpoints of ../shared/bench's peers, written the
-- way a Soom user would write them.
return { name = "bench" }
