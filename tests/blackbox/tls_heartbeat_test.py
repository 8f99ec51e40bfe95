#!/usr/bin/env python3
"""tls_heartbeat_test.py: two feltd behaviours no other test reaches, checked end to end.

1. TLS: with --tls-cert/--tls-key feltd serves https:// (and so wss://) on its one port: a join
   over HTTPS works with a self-signed certificate made for the test, and plain HTTP to that port
   gets no answer.
2. Heartbeat: a WebSocket peer that completes the handshake and then goes silent (never answers
   a ping) is dropped once --hangup-secs pass, and the server counts it gone in /metrics.

Usage: tls_heartbeat_test.py FELTD. Loopback only, bounded in time, cleans up after itself.
"""
import base64, json, os, signal, socket, ssl, subprocess, sys, tempfile, time
import urllib.error, urllib.parse, urllib.request


# Every client here is 127.0.0.1: the per-address limits (docs/security.md) are turned off.
LIMITS_OFF = ["--joins-per-minute", "0", "--seats-per-address", "0", "--max-conns-per-address", "0",
              "--chat-per-address", "0", "--chat-per-table", "0", "--sitout-hands", "0"]


# feltd is started, and its URL read, by scripts/feltd-port.sh (feltd_run), the one place that
# knows feltd's listening line: it prints the URL and then stands in for feltd (SIGTERM passed
# on, feltd's exit status returned). It runs in a session of its own so that a feltd that does
# not stop can be killed with it (os.killpg).
FELTD_PORT_SH = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir,
                             "scripts", "feltd-port.sh")


def start_feltd(feltd, args):
    p = subprocess.Popen(["sh", "-c", '. "$0" && feltd_run "$@"', FELTD_PORT_SH, feltd,
                          "--port", "0", "-q"] + LIMITS_OFF + args, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, start_new_session=True)
    url = urllib.parse.urlsplit(p.stdout.readline().strip())
    if url.hostname != "127.0.0.1" or not url.port:
        kill_feltd(p)
        sys.exit("feltd did not start: %r %s" % (url.geturl(), p.stderr.read()))
    return p, url.scheme, url.port


def kill_feltd(p):
    try:
        os.killpg(p.pid, signal.SIGKILL)  # feltd and the shell standing in for it
    except ProcessLookupError:
        pass
    p.wait()


def stop_feltd(p):
    p.terminate()
    try:
        return p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        kill_feltd(p)
        return -1


def test_tls(feltd, tmp):
    key, cert = os.path.join(tmp, "key.pem"), os.path.join(tmp, "cert.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    p, scheme, port = start_feltd(feltd, ["--tls-cert", cert, "--tls-key", key])
    try:
        assert scheme == "https", scheme
        ctx = ssl.create_default_context(cafile=cert)
        ctx.check_hostname = False
        req = urllib.request.Request("https://127.0.0.1:%d/api/games/main/join" % port,
                                     data=b'{"name": "tls"}', method="POST")
        with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
            body = json.loads(r.read())
        assert len(body["token"]) == 64 and body["seat"] == 0, body
        # The certificate is really in use: a client that trusts nothing refuses it.
        try:
            urllib.request.urlopen("https://127.0.0.1:%d/healthz" % port, timeout=10,
                                   context=ssl.create_default_context())
            raise AssertionError("an untrusted certificate was accepted")
        except urllib.error.URLError as e:
            assert isinstance(e.reason, ssl.SSLError), e
        # Plain HTTP to the TLS port gets no HTTP answer.
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        try:
            data = s.recv(100)
        except (ConnectionResetError, socket.timeout):
            data = b""
        assert not data.startswith(b"HTTP/1.1 200"), data
        s.close()
    finally:
        assert stop_feltd(p) == 0
    print("tls: ok")


def metric(port, name):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    raise AssertionError("no metric " + name)


def test_heartbeat(feltd):
    p, _, port = start_feltd(feltd, ["--ping-secs", "1", "--hangup-secs", "3"])
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        key = base64.b64encode(os.urandom(16)).decode()
        s.sendall(("GET /ws/spectate/main HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
                   "Sec-WebSocket-Protocol: felt.v1\r\n\r\n" % key).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = s.recv(4096)
            assert chunk, "closed during the handshake"
            head += chunk
        assert head.startswith(b"HTTP/1.1 101"), head[:40]
        name = 'felt_connections{role="spectator"}'
        assert metric(port, name) == 1
        # Silent from now on: read what comes (the snapshot, pings) but never answer.
        deadline = time.time() + 15
        closed_at = None
        s.settimeout(0.5)
        start = time.time()
        while time.time() < deadline:
            try:
                if s.recv(65536) == b"":
                    closed_at = time.time()
                    break
            except socket.timeout:
                continue
            except ConnectionResetError:
                closed_at = time.time()
                break
        assert closed_at is not None, "a silent peer was never dropped"
        assert closed_at - start >= 2.0, "dropped before the hang-up time: %.1f s" % (closed_at - start)
        assert metric(port, name) == 0
        s.close()
    finally:
        assert stop_feltd(p) == 0
    print("heartbeat: ok (dropped after %.1f s)" % (closed_at - start))


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: tls_heartbeat_test.py FELTD")
    with tempfile.TemporaryDirectory() as tmp:
        test_tls(sys.argv[1], tmp)
    test_heartbeat(sys.argv[1])
    print("2 passed, 0 failed")


if __name__ == "__main__":
    main()
