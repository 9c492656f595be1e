"""End-to-end tests of the compress module (core/modules/compress/compress.c),
loaded as an app loads it (no path: the module shipped with soom).
Compressed bodies are decompressed with Python's gzip and the zstd
command-line tool and compared with the body sent without compression."""

import gzip
import json
import os
import shutil
import subprocess
import tempfile

from harness import Server, eq, main, write_app

RESOURCES = r'''
local soom = require "soom"

local function rows(n)
    local list = {}
    for i = 1, n do
        list[i] = { id = i, name = "sample " .. i, score = i % 100,
                    created_at = "2024-05-0" .. (i % 9 + 1) .. "T10:00:00Z" }
    end
    return list
end

return {
    soom.Resource { route = "/page", get = function(_, req)
        return { results = rows(tonumber(req.query.n) or 20), next = "abc" }
    end },
    soom.Resource { route = "/typed", get = function(_, req)
        local body = string.rep("0123456789abcdef", 256)
        local headers = { ["Content-Type"] = req.query.type }
        if req.query.etag then headers.ETag = '"v1"' end
        if req.query.cc then headers["Cache-Control"] = req.query.cc end
        if req.query.range then headers["Content-Range"] = "bytes 0-4095/8192" end
        return body, tonumber(req.query.status) or 200, headers
    end },
    soom.Resource { route = "/noise", get = function()
        local t = {}
        local x = 12345
        for i = 1, 4096 do
            x = (x * 1103515245 + 12345) % 2147483648
            t[i] = string.char(math.floor(x / 65536) % 256)
        end
        return table.concat(t), 200, { ["Content-Type"] = "text/plain" }
    end },
}
'''


def compress_app(settings="{}"):
    root = tempfile.mkdtemp(prefix="soom-compress-")
    write_app(root, {
        "settings.lua": "return { modules = { compress = %s } }\n" % settings,
        "resources/page.lua": RESOURCES,
    })
    return root


class Served:
    def __init__(self, settings="{}"):
        self.app = compress_app(settings)
        # one worker state: the same table encodes to the same bytes, so a
        # decompressed body can be compared byte for byte
        self.srv = Server(self.app, env={"SOOM_THREADS": "1"}).start()

    def __enter__(self):
        return self.srv

    def __exit__(self, *exc):
        self.srv.stop()
        shutil.rmtree(self.app)


def unzstd(data):
    p = subprocess.run(["zstd", "-d", "-c", "-q"], input=data, capture_output=True, check=True)
    return p.stdout


def get(srv, path, encoding=None, headers=None, method="GET"):
    h = dict(headers or {})
    if encoding is not None:
        h["Accept-Encoding"] = encoding
    return srv.request(method, path, headers=h)


def test_gzip_and_zstd_decompress_to_the_original():
    with Served() as srv:
        status, headers, plain = get(srv, "/page")
        eq((status, headers.get("content-encoding"), headers.get("vary")),
           (200, None, "Accept-Encoding"), "eligible, not asked for")
        eq(len(json.loads(plain)["results"]), 20)
        status, headers, body = get(srv, "/page", "gzip")
        eq((status, headers.get("content-encoding"), headers.get("vary")),
           (200, "gzip", "Accept-Encoding"))
        eq(headers.get("content-type"), "application/json")
        eq(gzip.decompress(body), plain)
        assert len(body) < len(plain) / 3, (len(body), len(plain))
        status, headers, body = get(srv, "/page", "gzip, deflate, br, zstd")
        eq(headers.get("content-encoding"), "zstd", "zstd preferred when both are accepted")
        eq(unzstd(body), plain)
        # larger bodies (past the 4 KiB and 16 KiB windows, and past the
        # core's in-arena size)
        for n in (100, 2000):
            status, headers, big = get(srv, "/page?n=%d" % n)
            _, headers, body = get(srv, "/page?n=%d" % n, "zstd")
            eq((headers.get("content-encoding"), unzstd(body)), ("zstd", big))
            _, headers, body = get(srv, "/page?n=%d" % n, "gzip")
            eq((headers.get("content-encoding"), gzip.decompress(body)), ("gzip", big))


def test_accept_encoding_qualities():
    with Served() as srv:
        for accept, expected in (("zstd;q=0.5, gzip", "gzip"),
                                 ("gzip;q=0.9, zstd;q=0.8", "gzip"),
                                 ("gzip;q=0", None),
                                 ("zstd;q=0, gzip;q=0", None),
                                 ("identity", None),
                                 ("*", "zstd"),
                                 ("*;q=0.5, zstd;q=0", "gzip"),
                                 ("GZIP", "gzip"),
                                 ("br", None)):
            status, headers, _ = get(srv, "/page", accept)
            eq((status, headers.get("content-encoding")), (200, expected), accept)
            eq(headers.get("vary"), "Accept-Encoding", accept)


def test_what_is_never_compressed():
    with Served('{ min_size = 1024, exclude_types = { "text/event-stream" } }') as srv:
        status, headers, body = get(srv, "/page?n=2", "gzip, zstd")
        assert len(body) < 1024
        eq((status, headers.get("content-encoding"), headers.get("vary")), (200, None, None),
           "under the threshold")
        _, headers, _ = get(srv, "/page?n=30", "gzip, zstd")
        eq(headers.get("content-encoding"), "zstd", "over it")
        for ctype in ("image/png", "image/jpeg", "video/mp4", "audio/ogg", "font/woff2",
                      "application/zip", "application/gzip", "application/pdf",
                      "application/octet-stream", "text/event-stream;%20charset=utf-8"):
            status, headers, body = get(srv, "/typed?type=" + ctype, "gzip, zstd")
            eq((status, headers.get("content-encoding"), len(body)), (200, None, 4096), ctype)
        for ctype in ("image/svg%2Bxml", "text/html;%20charset=utf-8", "application/problem%2Bjson"):
            _, headers, body = get(srv, "/typed?type=" + ctype, "gzip")
            eq((headers.get("content-encoding"), len(gzip.decompress(body))), ("gzip", 4096), ctype)
        # Range: neither a response to a Range request nor a 206 / Content-Range
        status, headers, body = get(srv, "/page?n=30", "gzip", {"Range": "bytes=0-99"})
        eq((headers.get("content-encoding"), json.loads(body)["next"]), (None, "abc"))
        status, headers, _ = get(srv, "/typed?type=text/plain&status=206&range=1", "gzip")
        eq((status, headers.get("content-encoding")), (206, None))
        status, headers, _ = get(srv, "/typed?type=text/plain&range=1", "gzip")
        eq((status, headers.get("content-encoding")), (200, None))
        # Cache-Control: no-transform forbids it; HEAD has no body to compress
        _, headers, _ = get(srv, "/typed?type=text/plain&cc=public,%20no-transform", "gzip")
        eq(headers.get("content-encoding"), None)
        status, headers, _ = get(srv, "/page?n=30", "gzip", method="HEAD")
        eq((status, headers.get("content-encoding")), (200, None))
        # a body that would not shrink goes as it is
        _, headers, noise = get(srv, "/noise", "gzip, zstd")
        eq((headers.get("content-encoding"), len(noise)), (None, 4096))


def test_etag_becomes_weak_and_settings_are_honoured():
    with Served('{ encodings = { "gzip" }, gzip_level = 9, min_size = 0 }') as srv:
        _, headers, _ = get(srv, "/typed?type=text/plain&etag=1", "zstd, gzip")
        eq((headers.get("content-encoding"), headers.get("etag")), ("gzip", 'W/"v1"'))
        _, headers, _ = get(srv, "/typed?type=text/plain&etag=1")
        eq((headers.get("content-encoding"), headers.get("etag")), (None, '"v1"'))
        _, headers, _ = get(srv, "/typed?type=text/plain", "zstd")
        eq(headers.get("content-encoding"), None, "zstd is not offered")


if __name__ == "__main__":
    main(globals())
