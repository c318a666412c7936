"""Sends requests pipelined on one connection, in one write, and prints each response in the
order it came: "<status> <first output value or error>", then "closed" when the server closed
the connection after the last (which asks for it).

usage: pipelined_requests.py HOST PORT MODEL
"""
import json
import socket
import sys


def infer(path, value, host, close=False):
    body = json.dumps({"inputs": [{"name": "INPUT0", "shape": [1], "datatype": "FP32", "data": [value]}]}).encode()
    head = f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    if close:
        head += "Connection: close\r\n"
    return head.encode() + b"\r\n" + body


def read_response(stream):
    status_line = stream.readline()
    if not status_line:
        return None
    status = int(status_line.split()[1])
    length = 0
    while True:
        line = stream.readline().strip()
        if not line:
            break
        name, _, value = line.decode().partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    body = json.loads(stream.read(length)) if length else {}
    if status == 200 and "outputs" in body:
        return f"{status} {body['outputs'][0]['data'][0]:.3f}"
    if status == 200:
        return f"{status} {json.dumps(body, sort_keys=True)}"
    return f"{status} {body.get('error', '')}"


def main():
    host, port, model = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    authority = f"{host}:{port}"
    requests = [
        infer(f"/v2/models/{model}/infer", 1, authority),
        f"GET /v2/health/live HTTP/1.1\r\nHost: {authority}\r\n\r\n".encode(),
        infer(f"/v2/models/{model}/infer?note=router", 2, authority),
        infer(f"/v2/models/{model}/versions/1/infer", 3, authority),
        infer("/v2/models/nobody/infer", 4, authority),
        infer(f"/v2/models/{model}/infer", 5, authority, close=True),
    ]
    with socket.create_connection((host, port), timeout=30) as connection:
        connection.sendall(b"".join(requests))
        stream = connection.makefile("rb")
        for _ in requests:
            print(read_response(stream))
        print("closed" if stream.read(1) == b"" else "still open")


main()
