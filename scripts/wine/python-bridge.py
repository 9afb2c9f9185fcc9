"""Runs the Python scripts of a Windows test binary under Wine with the project's Linux venv.

Wine starts Linux programs but gives the Windows program that starts them no handle to wait
for them or read their output, so npaa_testutil::run_python sends its script here instead
(NPAA_PYTHON_BRIDGE=127.0.0.1:PORT; protocol in testutil/src/lib.rs): a sequence of
length-prefixed strings, the code then its arguments (paths already given as Linux paths by
npaa_testutil::python_path). The answer is the status ("" for success), stdout and stderr,
length-prefixed alike.

Usage: python-bridge.py PORTFILE  (binds a free port on 127.0.0.1 and writes it to PORTFILE;
runs until killed). Started and stopped by scripts/wine-tests.
"""
import socketserver
import struct
import subprocess
import sys


def items(data):
    while data:
        (n,) = struct.unpack_from("<I", data)
        yield data[4 : 4 + n].decode("utf-8", "surrogateescape")
        data = data[4 + n :]


class Handler(socketserver.StreamRequestHandler):
    def handle(self):
        code, *args = items(self.rfile.read())
        out = subprocess.run(
            [sys.executable, "-c", code, *args],
            capture_output=True,
            stdin=subprocess.DEVNULL,
        )
        status = "" if out.returncode == 0 else f"exit status {out.returncode}"
        for item in (status.encode(), out.stdout, out.stderr):
            self.wfile.write(struct.pack("<I", len(item)) + item)


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


if __name__ == "__main__":
    with Server(("127.0.0.1", 0), Handler) as server:
        with open(sys.argv[1], "w") as f:
            f.write(f"127.0.0.1:{server.server_address[1]}\n")
        server.serve_forever()
