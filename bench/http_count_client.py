#!/usr/bin/env python3
"""A small closed-loop HTTP/1.1 keep-alive client for repeatable per-request cost figures.

Sends exactly --requests GETs over --connections keep-alive connections (each connection sends
a request, reads the whole response, sends the next), like wrk's requests but a fixed number of
them, so an instruction count of the server divided by the requests is repeatable under load.
Exits non-zero if any response is not 200 or a connection fails.

  bench/http_count_client.py --port 8080 --requests 20000 --connections 10 [--path /]
                             [--method POST]   (an empty body; the app's like route)
"""
import argparse
import selectors
import socket
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--requests", type=int, default=20000)
    ap.add_argument("--connections", type=int, default=10)
    ap.add_argument("--path", default="/")
    ap.add_argument("--method", default="GET")
    a = ap.parse_args()

    body = "Content-Length: 0\r\n" if a.method in ("POST", "PUT") else ""
    req = (f"{a.method} {a.path} HTTP/1.1\r\nHost: {a.host}:{a.port}\r\n{body}\r\n").encode()
    sel = selectors.DefaultSelector()
    to_send = a.requests
    done = 0
    bad = 0
    conns = []
    for _ in range(min(a.connections, a.requests)):
        s = socket.create_connection((a.host, a.port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.setblocking(False)
        st = {"sock": s, "buf": b""}
        conns.append(st)
        sel.register(s, selectors.EVENT_READ, st)
        s.sendall(req)
        to_send -= 1

    while done < a.requests:
        events = sel.select(timeout=60)
        if not events:
            print(f"no response within 60 s ({done} done)", file=sys.stderr)
            return 1
        for key, _ in events:
            st = key.data
            s = st["sock"]
            chunk = s.recv(65536)
            if not chunk:
                print("connection closed by the server", file=sys.stderr)
                return 1
            st["buf"] += chunk
            while True:
                buf = st["buf"]
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    break
                head = buf[:end].decode("latin-1")
                length = 0
                for line in head.split("\r\n")[1:]:
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value.strip())
                if len(buf) < end + 4 + length:
                    break
                if not head.startswith("HTTP/1.1 200"):
                    bad += 1
                st["buf"] = buf[end + 4 + length:]
                done += 1
                if to_send > 0:
                    s.sendall(req)
                    to_send -= 1
    for st in conns:
        st["sock"].close()
    print(f"{done} responses, {bad} not 200")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
