#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""An independent vfio-user client for interop tests of vnet-simd.

Written from the vfio-user specification and the virtio 1.2 PCI transport
alone (no libvnet code, no shared headers), so that a misreading shared by
libvnet's client and server shows up here. It negotiates VERSION, reads the
PCI configuration space and follows the virtio capabilities, maps DMA
memory, brings the virtio-net device up with one queue pair, routes an
MSI-X vector to an eventfd and moves a frame TX -> RX through sim:loopback;
then resets the device and does it again without routing the vector anew or
setting bus mastering again (kernel VFIO keeps interrupt eventfds across
VFIO_DEVICE_RESET and restores the PCI config state); then maps the same
memory without an fd and does it once more, serving the server's DMA_READ
and DMA_WRITE requests. Prints TAP.

usage: vfu_client.py SOCKET
"""
import json
import mmap
import os
import select
import socket
import struct
import sys
import time

# vfio-user commands and header flags (vfio-user.rst "Commands", "Header").
VERSION, DMA_MAP, DMA_UNMAP, GET_INFO, REGION_INFO = 1, 2, 3, 4, 5
IRQ_INFO, SET_IRQS, REGION_READ, REGION_WRITE = 7, 8, 9, 10
DMA_READ, DMA_WRITE, DEVICE_RESET = 11, 12, 13
F_REPLY, F_ERROR = 0x1, 0x20
CFG_REGION, MSIX_INDEX = 7, 2           # VFIO_PCI_CONFIG_REGION_INDEX, VFIO_PCI_MSIX_IRQ_INDEX
IRQ_DATA_EVENTFD, IRQ_ACTION_TRIGGER = 1 << 2, 1 << 5

# virtio 1.2 §4.1.4.3 common configuration offsets.
C_DFSEL, C_DF, C_GFSEL, C_GF, C_NUMQ, C_STATUS = 0, 4, 8, 12, 18, 20
C_QSEL, C_QSIZE, C_QMSIX, C_QENABLE, C_QNOFF = 22, 24, 26, 28, 30
C_QDESC, C_QDRIVER, C_QDEVICE = 32, 40, 48
S_ACK, S_DRIVER, S_DRIVER_OK, S_FEATURES_OK = 1, 2, 4, 8
F_VERSION_1, F_ACCESS_PLATFORM = 1 << 32, 1 << 33
DESC_F_WRITE = 2

IOVA, MEM = 0x10000000, 0x10000
QSIZE, BUF = 8, 2048
RING = [0x0000, 0x1000]        # per queue: desc, then avail at +0x200, used at +0x400
BUFS = [0x4000, 0x8000]        # per queue: QSIZE buffers of BUF bytes
RX, TX = 0, 1
RX_VECTOR = 1
HDR_LEN = 12                   # virtio_net_hdr_v1 (§5.1.6)

n_tests = 0
failed = 0


def ok(cond, what):
    global n_tests, failed
    n_tests += 1
    print(("ok" if cond else "not ok") + " %d - %s" % (n_tests, what), flush=True)
    if not cond:
        failed += 1
    return cond


class Client:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(5)
        self.s.connect(path)
        self.next_id = 1
        self.mem = None  # the DMA memory, for DMA_READ / DMA_WRITE requests
        self.served = 0

    def recv_exact(self, n):
        data, fds = b"", []
        while len(data) < n:
            chunk, anc, _, _ = self.s.recvmsg(n - len(data), socket.CMSG_SPACE(16 * 4))
            if not chunk:
                raise EOFError("server hung up")
            for level, kind, payload in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    fds += list(struct.unpack("%di" % (len(payload) // 4), payload))
            data += chunk
        return data, fds

    def send(self, mid, cmd, flags, payload, fds=(), error=0):
        hdr = struct.pack("<HHIII", mid, cmd, 16 + len(payload), flags, error)
        socket.send_fds(self.s, [hdr + payload], list(fds)) if fds else \
            self.s.sendall(hdr + payload)

    def serve(self, mid, cmd, payload):
        """A request from the server: DMA_READ / DMA_WRITE of our memory."""
        addr, count = struct.unpack_from("<QQ", payload)
        off = addr - IOVA
        self.served += 1
        if cmd not in (DMA_READ, DMA_WRITE) or self.mem is None or off < 0 or off + count > MEM:
            self.send(mid, cmd, F_REPLY | F_ERROR, b"", error=22)
        elif cmd == DMA_READ:
            self.send(mid, cmd, F_REPLY, payload[:16] + self.mem[off:off + count])
        else:
            self.mem[off:off + count] = payload[16:16 + count]
            self.send(mid, cmd, F_REPLY, payload[:16])

    def next_message(self):
        hdr, fds = self.recv_exact(16)
        mid, cmd, size, flags, err = struct.unpack("<HHIII", hdr)
        body, more = self.recv_exact(size - 16) if size > 16 else (b"", [])
        return mid, cmd, flags, err, body, fds + more

    def pump(self, timeout):
        """Serve the server's requests that come within timeout seconds."""
        while select.select([self.s], [], [], timeout)[0]:
            mid, cmd, flags, _, body, fds = self.next_message()
            for fd in fds:
                os.close(fd)
            if flags & 0xf == F_REPLY:
                raise RuntimeError("a reply to nothing (id %d, command %d)" % (mid, cmd))
            self.serve(mid, cmd, body)
            timeout = 0

    def call(self, cmd, payload=b"", fds=()):
        """One command and its reply: (errno, payload, fds)."""
        mid = self.next_id
        self.next_id = (self.next_id + 1) & 0xffff
        self.send(mid, cmd, 0, payload, fds)
        while True:
            rid, rcmd, flags, err, body, rfds = self.next_message()
            if flags & 0xf != F_REPLY:
                self.serve(rid, rcmd, body)
                continue
            if rid != mid or rcmd != cmd:
                raise RuntimeError("reply %d/%d to request %d/%d" % (rid, rcmd, mid, cmd))
            return (err if flags & F_ERROR else 0), body, rfds

    def read(self, region, off, count):
        err, body, _ = self.call(REGION_READ, struct.pack("<QII", off, region, count))
        if err:
            raise OSError(err, "REGION_READ %d+%#x" % (region, off))
        return body[16:16 + count]

    def write(self, region, off, data):
        err, _, _ = self.call(REGION_WRITE, struct.pack("<QII", off, region, len(data)) + data)
        if err:
            raise OSError(err, "REGION_WRITE %d+%#x" % (region, off))


def cfg_caps(c):
    """virtio 1.2 §4.1.4: the vendor capabilities, by cfg_type: (bar, offset, length, cap)."""
    cfg = c.read(CFG_REGION, 0, 256)
    caps, at = {}, cfg[0x34] & ~3
    while at:
        cap_id, nxt, _, kind, bar = struct.unpack_from("<BBBBB", cfg, at)
        offset, length = struct.unpack_from("<II", cfg, at + 8)
        if cap_id == 0x09:  # PCI_CAP_ID_VNDR
            caps.setdefault(kind, (bar, offset, length, cfg[at:at + 20]))
        at = nxt & ~3
    return cfg, caps


class Virtio:
    """The driver side of virtio-net over the client: split rings in c.mem."""

    def __init__(self, c, caps):
        self.c = c
        self.bar, self.common, _, _ = caps[1]        # VIRTIO_PCI_CAP_COMMON_CFG
        nbar, self.notify, _, ncap = caps[2]         # VIRTIO_PCI_CAP_NOTIFY_CFG
        self.mult = struct.unpack_from("<I", ncap, 16)[0]
        assert nbar == self.bar

    def cw(self, off, fmt, v):
        self.c.write(self.bar, self.common + off, struct.pack(fmt, v))

    def cr(self, off, fmt):
        return struct.unpack(fmt, self.c.read(self.bar, self.common + off, struct.calcsize(fmt)))[0]

    def start(self):
        """Reset, negotiate, set both queues up with zeroed rings; True if DRIVER_OK."""
        self.cw(C_STATUS, "<B", 0)
        deadline = time.time() + 2
        while self.cr(C_STATUS, "<B") and time.time() < deadline:
            time.sleep(0.01)
        self.cw(C_STATUS, "<B", S_ACK | S_DRIVER)
        offered = 0
        for sel in (0, 1):
            self.cw(C_DFSEL, "<I", sel)
            offered |= self.cr(C_DF, "<I") << (32 * sel)
        want = offered & (F_VERSION_1 | F_ACCESS_PLATFORM)
        for sel in (0, 1):
            self.cw(C_GFSEL, "<I", sel)
            self.cw(C_GF, "<I", (want >> (32 * sel)) & 0xffffffff)
        self.cw(C_STATUS, "<B", S_ACK | S_DRIVER | S_FEATURES_OK)
        if not self.cr(C_STATUS, "<B") & S_FEATURES_OK:
            return False
        self.c.mem[0:0x2000] = bytes(0x2000)
        self.avail_idx = [0, 0]
        self.used_seen = [0, 0]
        self.noff = []
        for q in (RX, TX):
            self.cw(C_QSEL, "<H", q)
            self.cw(C_QSIZE, "<H", QSIZE)
            self.cw(C_QMSIX, "<H", RX_VECTOR if q == RX else 0xffff)
            self.vector_ok = q != RX or self.cr(C_QMSIX, "<H") == RX_VECTOR
            self.cw(C_QDESC, "<Q", IOVA + RING[q])
            self.cw(C_QDRIVER, "<Q", IOVA + RING[q] + 0x200)
            self.cw(C_QDEVICE, "<Q", IOVA + RING[q] + 0x400)
            self.noff.append(self.cr(C_QNOFF, "<H"))
            self.cw(C_QENABLE, "<H", 1)
        self.cw(C_STATUS, "<B", S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK)
        return self.cr(C_STATUS, "<B") == S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK

    def post(self, q, i, length, write):
        """Descriptor i -> buffer i of queue q, then make it available (§2.7.13)."""
        m, ring = self.c.mem, RING[q]
        struct.pack_into("<QIHH", m, ring + 16 * i, IOVA + BUFS[q] + BUF * i, length,
                         DESC_F_WRITE if write else 0, 0)
        struct.pack_into("<H", m, ring + 0x200 + 4 + 2 * (self.avail_idx[q] % QSIZE), i)
        self.avail_idx[q] += 1
        struct.pack_into("<H", m, ring + 0x200 + 2, self.avail_idx[q] & 0xffff)

    def kick(self, q):
        self.c.write(self.bar, self.notify + self.noff[q] * self.mult, struct.pack("<H", q))

    def used(self, q, timeout=2.0):
        """The next used element of queue q (id, len), or None in time."""
        m, ring = self.c.mem, RING[q]
        deadline = time.time() + timeout
        while struct.unpack_from("<H", m, ring + 0x400 + 2)[0] == self.used_seen[q] & 0xffff:
            if time.time() > deadline:
                return None
            self.c.pump(0.005)  # memory mapped without an fd changes by message
        e = struct.unpack_from("<II", m, ring + 0x400 + 4 + 8 * (self.used_seen[q] % QSIZE))
        self.used_seen[q] += 1
        return e


def frame_round_trip(v, seed, evfd):
    """One broadcast frame TX -> RX on sim:loopback: bytes, length, and the RX interrupt."""
    frame = b"\xff" * 6 + bytes([2, 0, 0, 0, 0, seed]) + b"\x08\x00" + \
        bytes((seed + k) & 0xff for k in range(46))
    for i in range(4):
        v.post(RX, i, BUF, True)
    v.kick(RX)
    v.c.mem[BUFS[TX]:BUFS[TX] + HDR_LEN + len(frame)] = bytes(HDR_LEN) + frame
    v.post(TX, 0, HDR_LEN + len(frame), False)
    v.kick(TX)
    tx, rx = v.used(TX), v.used(RX)
    ok(tx is not None and tx[0] == 0, "the device used the TX buffer")
    got = rx is not None and v.c.mem[BUFS[RX] + BUF * rx[0] + HDR_LEN:
                                      BUFS[RX] + BUF * rx[0] + rx[1]]
    ok(rx is not None and rx[1] == HDR_LEN + len(frame) and got == frame,
       "the frame came back on RX, every byte (len %s)" % (rx and rx[1]))
    r, _, _ = select.select([evfd], [], [], 2)
    ok(bool(r) and struct.unpack("<Q", os.read(evfd, 8))[0] >= 1,
       "the RX queue's MSI-X vector signalled its eventfd")


def main():
    c = Client(sys.argv[1])
    err, body, _ = c.call(VERSION, struct.pack("<HH", 0, 1) + json.dumps(
        {"capabilities": {"max_msg_fds": 8, "max_data_xfer_size": 1 << 20}}).encode() + b"\0")
    major, _ = struct.unpack_from("<HH", body)
    caps = json.loads(body[4:].rstrip(b"\0") or b"{}").get("capabilities", {})
    ok(err == 0 and major == 0, "VERSION negotiated (major %d)" % major)
    ok(caps.get("max_dma_maps", 65535) >= 1,
       "the server's DMA mapping limit is advertised or the default (%s)" % caps.get("max_dma_maps"))

    err, body, _ = c.call(GET_INFO, struct.pack("<IIII", 16, 0, 0, 0))
    _, flags, nreg, nirq = struct.unpack_from("<IIII", body)
    ok(err == 0 and flags & 3 == 3 and nreg >= 8 and nirq >= 3,
       "DEVICE_GET_INFO: a resettable PCI device, %d regions, %d IRQ indexes" % (nreg, nirq))

    cfg, vcaps = cfg_caps(c)
    vendor, device = struct.unpack_from("<HH", cfg, 0)
    ok((vendor, device) == (0x1af4, 0x1041), "a virtio-net device (%04x:%04x)" % (vendor, device))
    ok(all(k in vcaps for k in (1, 2, 4)), "common, notify and device capabilities present")
    # Device registers take naturally aligned 1, 2, 4 or 8 byte accesses.
    mac = c.read(vcaps[4][0], vcaps[4][1], 4) + c.read(vcaps[4][0], vcaps[4][1] + 4, 2)
    ok(mac[0] & 1 == 0, "the device config space reads (mac %s)" % mac.hex(":"))

    fd = os.memfd_create("vfu-client", os.MFD_ALLOW_SEALING)
    os.ftruncate(fd, MEM)
    c.mem = mmap.mmap(fd, MEM)
    err, _, _ = c.call(DMA_MAP, struct.pack("<IIQQQ", 32, 3, 0, IOVA, MEM), [fd])
    os.close(fd)
    ok(err == 0, "DMA_MAP of a memfd (errno %d)" % err)

    evfd = os.eventfd(0, os.EFD_NONBLOCK)
    err, _, _ = c.call(SET_IRQS, struct.pack("<IIIII", 20, IRQ_DATA_EVENTFD | IRQ_ACTION_TRIGGER,
                                            MSIX_INDEX, RX_VECTOR, 1), [evfd])
    ok(err == 0, "MSI-X vector %d routed to an eventfd" % RX_VECTOR)

    # PCI: no DMA without Bus Master Enable (PCI_COMMAND bit 2; bit 1 memory space).
    cmd = struct.unpack("<H", c.read(CFG_REGION, 4, 2))[0]
    c.write(CFG_REGION, 4, struct.pack("<H", cmd | 0x6))
    ok(struct.unpack("<H", c.read(CFG_REGION, 4, 2))[0] & 0x6 == 0x6,
       "bus mastering and memory space enabled in the command register")

    v = Virtio(c, vcaps)
    ok(v.start() and v.vector_ok, "virtio-net up: features, two queues, DRIVER_OK")
    frame_round_trip(v, 1, evfd)

    err, _, _ = c.call(DEVICE_RESET)
    ok(err == 0 and v.cr(C_STATUS, "<B") == 0, "DEVICE_RESET: device status 0")
    ok(struct.unpack("<H", c.read(CFG_REGION, 4, 2))[0] & 0x6 == 0x6,
       "bus mastering kept across the reset (vfio-pci restores the config state)")
    ok(v.start() and v.vector_ok, "virtio-net up again after the reset")
    # No SET_IRQS this time: the eventfd must still be routed.
    frame_round_trip(v, 7, evfd)

    err, _, _ = c.call(DMA_UNMAP, struct.pack("<IIQQ", 24, 0, IOVA, MEM))
    ok(err == 0, "DMA_UNMAP of the window")

    # The same memory mapped without an fd: the server must reach it with
    # DMA_READ / DMA_WRITE requests, which Client.serve() answers from c.mem.
    err, _, _ = c.call(DMA_MAP, struct.pack("<IIQQQ", 32, 3, 0, IOVA, MEM))
    ok(err == 0, "DMA_MAP without an fd (errno %d)" % err)
    served = c.served
    ok(v.start() and v.vector_ok, "virtio-net up on memory the client keeps")
    frame_round_trip(v, 11, evfd)
    ok(c.served > served, "the server used DMA_READ / DMA_WRITE (%d requests)" % (c.served - served))
    err, _, _ = c.call(DMA_UNMAP, struct.pack("<IIQQ", 24, 0, IOVA, MEM))
    ok(err == 0, "DMA_UNMAP of the window without an fd")
    c.s.close()
    os.close(evfd)
    print("1..%d" % n_tests)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
