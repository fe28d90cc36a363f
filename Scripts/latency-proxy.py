#!/usr/bin/env python3
"""A loopback HTTP proxy that adds a fixed delay to every request, for benchmarks that model the
round trip to a real AWS region (tens of milliseconds) in front of moto, which answers in
microseconds when idle. Both tools under comparison go through it alike.

    python3 Scripts/latency-proxy.py --listen 5089 --upstream 5088 --delay-ms 40
"""
import argparse
import http.client
import http.server
import threading
import time

HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer"}


def handler_for(upstream_port, delay):
    local = threading.local()

    class Forward(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def forward(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            time.sleep(delay)
            if getattr(local, "conn", None) is None:
                local.conn = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=120)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            try:
                local.conn.request(self.command, self.path, body=body, headers=headers)
                answer = local.conn.getresponse()
                data = answer.read()
            except (http.client.HTTPException, OSError):
                local.conn = None
                self.send_error(502)
                return
            self.send_response(answer.status)
            for key, value in answer.getheaders():
                if key.lower() not in HOP_BY_HOP and key.lower() != "content-length":
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = forward

    return Forward


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", type=int, required=True)
    parser.add_argument("--upstream", type=int, required=True)
    parser.add_argument("--delay-ms", type=float, default=40)
    args = parser.parse_args()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.listen), handler_for(args.upstream, args.delay_ms / 1000))
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
