#!/usr/bin/env python3
"""Worst case for analyze's memory: N connections to port 1433 (default 5000, past the 4,096
kept), each sending more than the 16 KiB per-direction cap in order from the client and, from the
server, segments after a hole that never fills (they wait out of order up to the cap).
Raw-IP classic pcap; checksums zero (nothing checks them).
  make_worst.py OUT.pcap [CONNECTIONS]"""
import struct
import sys


def ip_tcp(src, dst, sport, dport, seq, ack, flags, payload=b""):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 5 << 4, flags,
                      65535, 0, 0)
    total = 20 + len(tcp) + len(payload)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, 0, 0x4000, 64, 6, 0, bytes(src), bytes(dst))
    return ip + tcp + payload


def main():
    out = open(sys.argv[1], "wb")
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
    out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101))
    t = [1_700_000_000, 0]

    def put(frame):
        t[1] += 10
        out.write(struct.pack("<IIII", t[0] + t[1] // 1_000_000, t[1] % 1_000_000, len(frame),
                              len(frame)))
        out.write(frame)

    server = [10, 0, 0, 1]
    for i in range(n):
        client = [10, 1 + (i >> 16), (i >> 8) & 255, i & 255]
        cport = 40000 + (i % 20000)
        put(ip_tcp(client, server, cport, 1433, 1000, 0, 0x02))
        put(ip_tcp(server, client, 1433, cport, 5000, 1001, 0x12))
        seq = 1001
        for k in range(16):  # 16 x 1400 = 22,400 bytes in order
            data = bytes([(i + k + j) & 255 for j in range(1400)])
            put(ip_tcp(client, server, cport, 1433, seq, 5001, 0x18, data))
            seq += 1400
        sseq = 5001 + 1000  # the server's first 1,000 bytes never arrive
        for k in range(20):  # 20 x 1000 waiting out of order, more than the cap
            data = bytes([(i * 7 + k + j) & 255 for j in range(1000)])
            put(ip_tcp(server, client, 1433, cport, sseq, seq, 0x18, data))
            sseq += 1000
    out.close()


main()
