-- GET $PREFIX?limit=20&after=<id>, after uniformly random in 0..9980 (always a full page)
local prefix = os.getenv("PREFIX") or "/items"
local thread_id = 0
function setup(thread)
    thread_id = thread_id + 1
    thread:set("tid", thread_id)
end
function init()
    math.randomseed(os.time() + (tid or 0) * 7919)
end
function request()
    return wrk.format("GET", prefix .. "?limit=20&after=" .. math.random(0, 9980))
end
