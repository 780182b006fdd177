#!/usr/bin/env python3
"""Prints where a table's pages lie in an LMDB data.mdb, for the tests that
damage pages behind docket's back (tests/cli_pages.sh, scripts/flip.sh).

  lmdb_pages.py DATA.MDB root TABLE       page number of TABLE's root
  lmdb_pages.py DATA.MDB child TABLE I    file offset of the I-th node of
                                          TABLE's root page (a branch: the
                                          node's first 6 bytes are its
                                          child's page number)
  lmdb_pages.py DATA.MDB leaf TABLE       page number of TABLE's first leaf
  lmdb_pages.py DATA.MDB pages            every B-tree page: number, kind

Layout (lmdb.h, mdb.c): page header pgno u64 | pad u16 | flags u16 | lower
u16 | upper u16, then the node offsets; node lo u16 | hi u16 | flags u16 |
ksize u16 | key | data; meta at 16: magic, version, address, mapsize, two
48-byte table records (free pages, tables), last page, txnid.
"""
import struct
import sys

PS = 4096


def page(buf, n):
    return buf[n * PS:(n + 1) * PS]


def nodes(p):
    lower = struct.unpack_from('<H', p, 12)[0]
    for i in range((lower - 16) // 2):
        off = struct.unpack_from('<H', p, 16 + 2 * i)[0]
        lo, hi, fl, ks = struct.unpack_from('<HHHH', p, off)
        yield off, lo | hi << 16, fl, p[off + 8:off + 8 + ks], off + 8 + ks


def tables(buf):
    metas = [page(buf, i) for i in (0, 1)]
    meta = max(metas, key=lambda m: struct.unpack_from('<Q', m, 16 + 128)[0])
    root = struct.unpack_from('<Q', meta, 16 + 72 + 40)[0]
    out = {}

    def walk(n):
        p = page(buf, n)
        flags = struct.unpack_from('<H', p, 10)[0]
        for off, size, fl, key, data in nodes(p):
            if flags & 1:
                lo, hi, f2 = struct.unpack_from('<HHH', p, off)
                walk(lo | hi << 16 | f2 << 32)
            elif fl & 2:
                out[key.decode()] = struct.unpack_from('<Q', p, data + 40)[0]
    walk(root)
    return out


def main():
    buf = open(sys.argv[1], 'rb').read()
    what = sys.argv[2]
    if what == 'pages':
        for n in range(len(buf) // PS):
            p = page(buf, n)
            pgno, _, flags = struct.unpack_from('<QHH', p, 0)
            if pgno == n and flags & 3:
                print(n, 'branch' if flags & 1 else 'leaf')
        return
    root = tables(buf)[sys.argv[3]]
    if what == 'root':
        print(root)
    elif what == 'child':
        p = page(buf, root)
        if not struct.unpack_from('<H', p, 10)[0] & 1:
            sys.exit('%s: its root page is not a branch' % sys.argv[3])
        offs = [off for off, *_ in nodes(p)]
        print(root * PS + offs[int(sys.argv[4])])
    elif what == 'leaf':
        n = root
        while struct.unpack_from('<H', page(buf, n), 10)[0] & 1:
            lo, hi, f2 = struct.unpack_from('<HHH', page(buf, n), next(nodes(page(buf, n)))[0])
            n = lo | hi << 16 | f2 << 32
        print(n)


main()
