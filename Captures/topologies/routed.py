"""routed.py - the UDP client and the HTTP server of the "routed" topology
(topologies/routed.sh; its TCP connects are lab.py's `connect`), one "python3 routed.py ROLE
ARGS..." each, IPv4 or IPv6 by the address. Ordinary kernel sockets:
no raw packets are forged anywhere."""
import socket, sys, time, signal, threading

signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
out = lambda *a: print(*a, flush=True)

def family(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET

def udp(host, port, count, gap="0.3"):
    """count datagrams from one connected UDP socket; an ICMP error shows as ECONNREFUSED
    on the next call (Linux reports ICMP errors on connected UDP sockets)."""
    s = socket.socket(family(host), socket.SOCK_DGRAM); s.connect((host, int(port))); s.settimeout(0.3)
    for i in range(int(count)):
        s.send(b"metric.%d:1|c" % i)
        try:
            s.recv(512); r = "answered"
        except ConnectionRefusedError: r = "refused (ICMP)"
        except socket.timeout: r = "no answer"
        out("datagram %d to %s:%s %s" % (i + 1, host, port, r))
        time.sleep(float(gap))

def http(addr, port, size):
    """HTTP/1.0 server: read the request; headers in one send, then a body of `size` bytes in
    another, TCP_NODELAY (the small last segment leaves with the first flight); close after
    the client's FIN."""
    s = socket.socket(family(addr))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, int(port))); s.listen(16)
    out("ready http", addr, port, size)
    body = (b"0123456789abcdef" * (int(size) // 16 + 1))[:int(size)]
    def handle(c, peer):
        with c:
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            c.settimeout(30); data = b""
            while b"\r\n\r\n" not in data:
                d = c.recv(4096)
                if not d: break
                data += d
            try:
                c.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n" % len(body))
                time.sleep(0.05)   # headers acknowledged on their own first
                c.sendall(body)
                c.shutdown(socket.SHUT_WR)
                while c.recv(4096): pass
            except OSError as e:
                out("send failed", peer, e)
        out("served", peer)
    while True:
        c, peer = s.accept()
        threading.Thread(target=handle, args=(c, peer), daemon=True).start()

globals()[sys.argv[1]](*sys.argv[2:])
