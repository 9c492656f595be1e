-- GET a path picked at random from the file $PATHS (one path per line):
-- cursor pages at random positions, prepared by bench/pages.sh.
local paths = {}
for line in io.lines(os.getenv("PATHS")) do
    paths[#paths + 1] = line
end
local thread_id = 0
function setup(thread)
    thread_id = thread_id + 1
    thread:set("tid", thread_id)
end
function init()
    math.randomseed(os.time() + (tid or 0) * 7919)
end
function request()
    return wrk.format("GET", paths[math.random(1, #paths)])
end
