-- What every Soom service serves for its operators: the probes of the
-- image's HEALTHCHECK and deploy/k8s, and the metrics Prometheus scrapes.
local soom = require "soom"
local t = require "soom.test"

return {
    t.case("/live and /ready answer 200", function(client)
        t.eq(client:get("/live").status, 200)
        local res = client:get("/ready")
        t.eq(res.status, 200)
        t.eq(res.json.status, "ok")
    end),

    t.case("/metrics counts the requests by route", function(client)
        t.eq(client:get("/hello").status, 200)
        -- a request is counted as it completes, a moment after its answer
        local body = ""
        for _ = 1, 50 do
            body = client:get("/metrics").body
            if body:find('route="/hello"', 1, true) then
                break
            end
            soom.sleep(0.05)
        end
        t.match(body, 'http_requests_total{[^}]*route="/hello"')
    end),
}
