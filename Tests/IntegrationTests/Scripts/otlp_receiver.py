"""A minimal OTLP/HTTP trace receiver for tests: every POST body to /v1/traces is written to a
new file in DIRECTORY and answered as a collector answers (200, empty protobuf).

    python3 otlp_receiver.py PORT DIRECTORY
"""
import http.server
import os
import sys
import threading

port, directory = int(sys.argv[1]), sys.argv[2]
lock = threading.Lock()
count = 0


class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        global count
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        with lock:
            count += 1
            name = os.path.join(directory, "export-%06d.pb" % count)
        with open(name + ".tmp", "wb") as out:
            out.write(body)
        os.rename(name + ".tmp", name)
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", port), Receiver).serve_forever()
