-- GET /samples?limit=20&after=<id>, after uniformly random in 0..9980 (a
-- full page each time): the peers' page of 20 rows (bench/app's keyset
-- ListCreateResource). Headers given with wrk -H are sent with each.
local thread_id = 0
function setup(thread)
    thread_id = thread_id + 1
    thread:set("tid", thread_id)
end
function init()
    math.randomseed(os.time() + (tid or 0) * 7919)
end
function request()
    return wrk.format("GET", "/samples?limit=20&after=" .. math.random(0, 9980))
end
