"""lab.py - the client and server roles of the "lab" topology (topologies/lab.sh), one
"python3 lab.py ROLE ARGS..." each. The traffic is produced by ordinary kernel sockets: no
raw packets are forged anywhere."""
import socket, struct, sys, threading, time, signal, errno

signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
out = lambda *a: print(*a, flush=True)

def sink(addr, port, backlog):
    """listen(backlog) and never accept(): the accept queue fills up."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, int(port))); s.listen(int(backlog))
    out("ready listen", addr, port, "backlog", backlog)
    while True: time.sleep(3600)

def http(addr, port):
    """Minimal HTTP/1.0 server: read the request, answer, close (server closes first)."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, int(port))); s.listen(16)
    out("ready http", addr, port)
    def handle(c, peer):
        with c:
            c.settimeout(5); data = b""
            while b"\r\n\r\n" not in data:
                d = c.recv(4096)
                if not d: break
                data += d
            body = b"hello from %s:%s\n" % (addr.encode(), port.encode())
            c.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
            c.shutdown(socket.SHUT_WR)
            try:
                while c.recv(4096): pass   # wait for the client's FIN: no RST on close
            except OSError: pass
        out("served", peer)
    while True:
        c, peer = s.accept()
        threading.Thread(target=handle, args=(c, peer), daemon=True).start()

def slowhttp(addr, port, delay):
    """HTTP/1.0 server that reads the request, waits delay seconds, then answers and closes."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, int(port))); s.listen(16)
    out("ready slowhttp", addr, port, "delay", delay)
    while True:
        c, peer = s.accept()
        with c:
            c.settimeout(10)
            try:
                c.recv(4096); time.sleep(float(delay))
                c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 6\r\n\r\nhello\n")
                c.recv(4096)
                r = "closed by client"
            except ConnectionResetError: r = "reset"
            except OSError as e: r = "error " + errno.errorcode.get(e.errno, str(e.errno))
        out("served", peer, r)

def aaaa(server, name, n):
    """n AAAA queries at once, one UDP socket each (the namespaces have no IPv6 address, so
    glibc's getaddrinfo would not ask for AAAA); prints how many were answered."""
    def one(i):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(3)
            q = struct.pack("!HHHHHH", 0x4000 + i, 0x0100, 1, 0, 0, 0)
            q += b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0" + struct.pack("!HH", 28, 1)
            s.sendto(q, (server, 53))
            d = s.recv(4096)
            return "answered" if d[:2] == q[:2] and struct.unpack("!H", d[6:8])[0] > 0 else "empty"
    parallel("aaaa", n, one)

def keepalive(addr, port):
    """HTTP/1.1 server keeping connections open between requests (Content-Length bodies)."""
    import http.server
    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        def do_GET(self):
            body = b"hello %s\n" % self.path.encode()
            self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers()
            self.wfile.write(body)
        def log_message(self, *a): pass
    srv = http.server.ThreadingHTTPServer((addr, int(port)), H)
    out("ready keepalive", addr, port)
    srv.serve_forever()

def connect(host, port, timeout, count, gap="0.3"):
    """count sequential connect() attempts (IPv6 for an address with a colon); prints one
    result line each."""
    for i in range(int(count)):
        s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET); s.settimeout(float(timeout)); t0 = time.monotonic()
        try:
            s.connect((host, int(port))); r = "connected"
        except ConnectionRefusedError: r = "refused"
        except socket.timeout: r = "timeout"
        except OSError as e: r = "error " + errno.errorcode.get(e.errno, str(e.errno))
        out("attempt %d %s:%s %s after %.3f s" % (i + 1, host, port, r, time.monotonic() - t0))
        s.close(); time.sleep(float(gap))

def hold(host, port, count):
    """open count connections one after the other and keep them open."""
    socks = []
    for i in range(int(count)):
        s = socket.create_connection((host, int(port)), timeout=3); socks.append(s)
        out("connection %d established from port %d" % (i + 1, s.getsockname()[1]))
        time.sleep(0.2)
    out("ready holding", len(socks))
    while True: time.sleep(3600)

def parallel(label, n, one):
    """Runs one(i) -> result word in n threads; prints "label word=count ..."."""
    res = {}
    def run(i):
        try: res[i] = one(i)
        except ConnectionRefusedError: res[i] = "refused"
        except ConnectionResetError: res[i] = "reset"
        except socket.timeout: res[i] = "timeout"
        except OSError as e: res[i] = "error " + errno.errorcode.get(e.errno, str(e.errno))
    ts = [threading.Thread(target=run, args=(i,)) for i in range(int(n))]
    for t in ts: t.start()
    for t in ts: t.join()
    summary = {}
    for r in res.values(): summary[r] = summary.get(r, 0) + 1
    out(label, " ".join("%s=%d" % kv for kv in sorted(summary.items())))

def burst(host, port, n, timeout):
    """n parallel connect()s with a timeout; prints a summary line."""
    def one(i):
        with socket.socket() as s:
            s.settimeout(float(timeout)); s.connect((host, int(port))); return "connected"
    parallel("burst", n, one)

def request(host, port, n, timeout):
    """n parallel connections, each sending one HTTP/1.0 request and waiting up to timeout
    seconds for any answer; prints a summary line (answered, reset, timeout, refused)."""
    def one(i):
        with socket.socket() as s:
            s.settimeout(float(timeout)); s.connect((host, int(port)))
            s.sendall(b"GET / HTTP/1.0\r\nHost: %s\r\n\r\n" % host.encode())
            return "answered" if s.recv(4096) else "closed"
    parallel("request", n, one)

def dnstc(addr, tcp_answer=""):
    """UDP: answer every query with TC=1 and no records. With tcp_answer (an
    IPv4 address) also serve TCP 53: A -> tcp_answer, other types -> NODATA."""
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind((addr, 53))
    def question(q):
        i = 12
        while q[i]: i += 1 + q[i]
        return i + 5                               # end of QNAME + QTYPE + QCLASS
    def tcp_server():
        t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        t.bind((addr, 53)); t.listen(8)
        while True:
            c, _ = t.accept()
            with c:
                try:
                    while True:
                        hdr = c.recv(2, socket.MSG_WAITALL)
                        if len(hdr) < 2: break
                        q = c.recv(struct.unpack("!H", hdr)[0], socket.MSG_WAITALL)
                        e = question(q); qtype = struct.unpack("!H", q[e - 4:e - 2])[0]
                        ans = b""
                        if qtype == 1:
                            ans = struct.pack("!HHHIH", 0xc00c, 1, 1, 60, 4) + socket.inet_aton(tcp_answer)
                        flags = 0x8000 | (q[2] & 0x79) << 8 | 0x80
                        r = q[:2] + struct.pack("!HHHHH", flags, 1, 1 if ans else 0, 0, 0) + q[12:e] + ans
                        c.sendall(struct.pack("!H", len(r)) + r)
                        out("tcp answer qtype", qtype)
                except OSError: pass
    if tcp_answer:
        threading.Thread(target=tcp_server, daemon=True).start()
        time.sleep(0.2)
    out("ready dns-tc", addr, "tcp" if tcp_answer else "udp-only")
    while True:
        q, peer = u.recvfrom(4096)
        if len(q) < 12: continue
        e = question(q)
        # QR=1, opcode and RD copied, TC=1, RA=1, RCODE=0; question echoed, no records
        flags = 0x8000 | (q[2] & 0x79) << 8 | 0x0200 | 0x80
        u.sendto(q[:2] + struct.pack("!HHHHH", flags, 1, 0, 0, 0) + q[12:e], peer)
        out("udp TC=1 answer to", peer, "qtype", struct.unpack("!H", q[e - 4:e - 2])[0])

TCP_REPAIR, TCP_REPAIR_QUEUE, TCP_QUEUE_SEQ, TCP_TIMESTAMP = 19, 20, 21, 24

def tsval(s):
    """the TSval this socket would send now (tcp clock + its random offset)"""
    return s.getsockopt(socket.IPPROTO_TCP, TCP_TIMESTAMP)

def isn_socket(bindaddr, bindport, isn):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((bindaddr, int(bindport)))
    # Fix the initial sequence number: in repair mode set write_seq, leave repair
    # mode, then connect(): tcp_v4_connect keeps a non-zero write_seq (the TSval
    # offset is still the kernel's own per-connection random one).
    s.setsockopt(socket.IPPROTO_TCP, TCP_REPAIR, 1)
    s.setsockopt(socket.IPPROTO_TCP, TCP_REPAIR_QUEUE, 2)      # TCP_SEND_QUEUE
    s.setsockopt(socket.IPPROTO_TCP, TCP_QUEUE_SEQ, int(isn))
    s.setsockopt(socket.IPPROTO_TCP, TCP_REPAIR, 0)
    return s

def pawsget(host, port, bindaddr, bindport, isn):
    """HTTP GET from bindaddr:bindport with a fixed ISN; prints the last TSval."""
    s = isn_socket(bindaddr, bindport, isn); s.settimeout(5); t0 = time.monotonic()
    s.connect((host, int(port))); dt = time.monotonic() - t0
    s.sendall(b"GET / HTTP/1.0\r\nHost: %s\r\n\r\n" % host.encode())
    data = b""
    while True:
        d = s.recv(4096)
        if not d: break
        data += d
    ts = tsval(s); s.close()
    out("connected in %.3f s, got %d bytes, last TSval %d" % (dt, len(data), ts))

def tsprobe(host, port, bindaddr, ts_ref, first, last):
    """Find a source port whose TSval is well below ts_ref (serial arithmetic).
    The probe SYNs are dropped by the router before conntrack."""
    for p in range(int(first), int(last) + 1):
        s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((bindaddr, p)); s.setblocking(False)
        try: s.connect((host, int(port)))
        except BlockingIOError: pass
        ts = tsval(s); s.close()
        behind = (int(ts_ref) - ts) % 2**32
        if 10000 <= behind < 2**31:
            out("port %d TSval %d is %d ms behind %s" % (p, ts, behind, ts_ref)); return
    sys.exit("no port with a lower TSval")

def poke(*hosts):
    for h in hosts:
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.sendto(b"x", (h, 9)); u.close()
    time.sleep(0.1)

globals()[sys.argv[1]](*sys.argv[2:])
