#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""An unmodified python3 using AF_PACKET raw sockets on a libvnet device.

Run by preload-python.sh as
    VNET_PRELOAD=plpy0=sim:loopback LD_PRELOAD=libvnet-preload.so python3 af_packet.py plpy0
Every frame sent comes back (sim:loopback): bytes and order of N frames,
recvfrom()'s address tuple, EtherType filtering, timeouts, non-blocking
sockets, select/poll/epoll beside a pipe, interface names and indices,
PACKET_ADD_MEMBERSHIP promiscuous mode seen through SIOCGIFFLAGS.
Only modules that python3-minimal has (no unittest), as a user's script would.
"""
import errno
import fcntl
import os
import select
import signal
import socket
import struct
import sys
import time

IFNAME = sys.argv[1] if len(sys.argv) > 1 else "plpy0"
ETH_P_ALL = 0x0003
TYPE = 0x88B5
OTHER = 0x88B7
PEER = bytes.fromhex("02005e100001")
BCAST = b"\xff" * 6
SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP, PACKET_DROP_MEMBERSHIP = 1, 2
PACKET_MR_PROMISC = 1
PACKET_HOST, PACKET_BROADCAST, PACKET_OTHERHOST = 0, 1, 3
ARPHRD_ETHER = 1
SIOCGIFFLAGS, SIOCSIFFLAGS, SIOCGIFHWADDR = 0x8913, 0x8914, 0x8927
IFF_PROMISC = 0x100
QUICK = os.environ.get("VNET_TEST_QUICK") == "1"
N = 200 if QUICK else 1000


def frame(seq, dst=BCAST, etype=TYPE, size=None):
    """Frame number seq: every byte a function of (seq, position)."""
    size = size or 60 + (seq * 7919) % (1514 - 60 + 1)
    head = dst + PEER + struct.pack("!HQ", etype, seq)
    return head + bytes((seq * 31 + i * 7) & 0xFF for i in range(len(head), size))


def ifreq(name, tail=b""):
    return struct.pack("16s", name.encode()) + tail.ljust(24, b"\0")


def if_flags():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        out = fcntl.ioctl(s.fileno(), SIOCGIFFLAGS, ifreq(IFNAME))
    return struct.unpack_from("h", out, 16)[0]


def set_if_flags(flags):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        fcntl.ioctl(s.fileno(), SIOCSIFFLAGS, ifreq(IFNAME, struct.pack("h", flags)))


def dev_mac():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        out = fcntl.ioctl(s.fileno(), SIOCGIFHWADDR, ifreq(IFNAME))
    family, = struct.unpack_from("H", out, 16)
    assert family == ARPHRD_ETHER, family
    return out[18:24]


def packet_socket(proto=ETH_P_ALL):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(proto))
    s.bind((IFNAME, 0))  # protocol 0: keep the socket's own
    s.settimeout(5)  # a lost frame fails the test instead of hanging it
    return s


class Failed(Exception):
    pass


def eq(got, want, what):
    if got != want:
        raise Failed("%s: got %r, want %r" % (what, got, want))


def raises(exc, fn, what):
    try:
        fn()
    except exc as e:
        return e
    raise Failed("%s: no %s" % (what, exc.__name__))


def t_frames_bytes_and_order(s):
    for base in range(0, N, 16):
        sent = [frame(seq) for seq in range(base, min(base + 16, N))]
        for f in sent:
            eq(s.send(f), len(f), "send")
        for seq, f in enumerate(sent, base):
            eq(s.recv(2048), f, "frame %d" % seq)


def t_recvfrom_address(s):
    mac = dev_mac()
    if mac == bytes(6) or mac[0] & 1:
        raise Failed("device MAC %s" % mac.hex(":"))
    for dst, pkttype in ((mac, PACKET_HOST), (BCAST, PACKET_BROADCAST)):
        f = frame(1, dst=dst)
        eq(s.sendto(f, (IFNAME, TYPE)), len(f), "sendto")
        data, addr = s.recvfrom(2048)
        eq(data, f, "frame")
        eq(addr, (IFNAME, TYPE, pkttype, ARPHRD_ETHER, PEER), "recvfrom address")


def t_names(s):
    idx = socket.if_nametoindex(IFNAME)
    if idx <= 0:
        raise Failed("if_nametoindex: %d" % idx)
    eq(socket.if_indextoname(idx), IFNAME, "if_indextoname")
    if (idx, IFNAME) not in socket.if_nameindex():
        raise Failed("if_nameindex(): %r" % socket.if_nameindex())
    raises(OSError, lambda: socket.if_nametoindex("plnone0"), "if_nametoindex(unknown)")


def t_one_ethertype(s):
    with packet_socket(TYPE) as only:
        for seq in range(40):
            only.send(frame(seq, etype=OTHER if seq % 2 else TYPE))
        for seq in range(0, 40, 2):
            eq(only.recv(2048), frame(seq), "frame %d" % seq)
        only.settimeout(0.2)
        raises(socket.timeout, lambda: only.recv(2048), "recv after the last frame of the type")


def t_timeout(s):
    s.settimeout(0.3)
    t0, c0 = time.monotonic(), time.thread_time()
    raises(socket.timeout, lambda: s.recv(2048), "recv with nothing to receive")
    dt, cpu = time.monotonic() - t0, time.thread_time() - c0
    if not 0.25 <= dt < 3:
        raise Failed("timed out after %.3f s, not 0.3 s" % dt)
    if cpu > dt / 2 + 0.05:
        raise Failed("used %.3f s of CPU in %.3f s: spinning" % (cpu, dt))


def t_nonblocking(s):
    s.setblocking(False)
    raises(BlockingIOError, lambda: s.recv(2048), "non-blocking recv")
    s.setblocking(True)
    f = frame(5)
    s.send(f)
    eq(s.recv(2048), f, "frame after setblocking(True)")


def waits(s, r):
    """Which of (socket, pipe) select, poll and epoll each say are readable."""
    fds = (s.fileno(), r)
    sel = select.select(fds, [], [], 0.5)[0]
    p = select.poll()
    for fd in fds:
        p.register(fd, select.POLLIN)
    polled = [fd for fd, ev in p.poll(500) if ev & select.POLLIN]
    with select.epoll() as ep:
        for fd in fds:
            ep.register(fd, select.EPOLLIN)
        epolled = [fd for fd, ev in ep.poll(0.5) if ev & select.EPOLLIN]
    return [sorted(x) for x in (sel, polled, epolled)]


def t_select_poll_epoll_with_pipe(s):
    r, w = os.pipe()
    try:
        sock = s.fileno()
        eq(waits(s, r), [[], [], []], "nothing to read")
        f = frame(9)
        s.send(f)
        deadline = time.monotonic() + 2
        while select.select([sock], [], [], 0.1)[0] == [] and time.monotonic() < deadline:
            pass
        eq(waits(s, r), [[sock]] * 3, "a frame waits")
        os.write(w, b"x")
        eq(waits(s, r), [sorted([sock, r])] * 3, "a frame and a byte wait")
        eq(s.recv(2048), f, "frame")
        eq(waits(s, r), [[r]] * 3, "a byte waits")
        os.read(r, 1)
        eq(waits(s, r), [[], [], []], "all read")
    finally:
        os.close(r)
        os.close(w)


def t_promisc_membership(s):
    idx = socket.if_nametoindex(IFNAME)
    mreq = struct.pack("iHH8s", idx, PACKET_MR_PROMISC, 0, b"")
    # The device starts promiscuous (virtio-net after reset): turn the
    # interface flag off first, so that the membership is what turns it on.
    flags = if_flags()
    eq(flags & IFF_PROMISC, IFF_PROMISC, "IFF_PROMISC at first")
    set_if_flags(flags & ~IFF_PROMISC)
    eq(if_flags() & IFF_PROMISC, 0, "IFF_PROMISC before")
    s.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, mreq)
    eq(if_flags() & IFF_PROMISC, IFF_PROMISC, "IFF_PROMISC with the membership")
    f = frame(3, dst=bytes.fromhex("029900000001"))
    s.send(f)
    data, addr = s.recvfrom(2048)
    eq((data, addr[2]), (f, PACKET_OTHERHOST), "frame for another host")
    s.setsockopt(SOL_PACKET, PACKET_DROP_MEMBERSHIP, mreq)
    eq(if_flags() & IFF_PROMISC, 0, "IFF_PROMISC after dropping it")
    set_if_flags(flags)
    eq(if_flags() & IFF_PROMISC, IFF_PROMISC, "IFF_PROMISC restored")


def t_bind_unknown_interface(s):
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL)) as u:
        e = raises(OSError, lambda: u.bind(("plnone0", 0)), "bind to an unknown interface")
        eq(e.errno, errno.ENODEV, "errno")


def main():
    """Each t_* on a fresh bound socket; TAP-style lines, then a summary."""
    signal.alarm(300 if QUICK else 60)  # bounded: SIGALRM ends a hung run
    tests = [(k, v) for k, v in globals().items() if k.startswith("t_")]
    passed = failed = 0
    print("1..%d" % len(tests))
    for i, (name, fn) in enumerate(tests, 1):
        try:
            with packet_socket() as s:
                fn(s)
            print("ok %d - %s" % (i, name))
            passed += 1
        except (Failed, OSError) as e:
            print("not ok %d - %s: %s" % (i, name, e))
            failed += 1
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
