#!/usr/bin/env python3
"""Attributes a wasm module's code bytes to function names (name section), largest first.

Usage: wasm_sizes.py module.wasm [top_n]. Build without stripping names to get them."""
import sys

def leb(data, pos):
    result = shift = 0
    while True:
        b = data[pos]; pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7

def main():
    data = open(sys.argv[1], 'rb').read()
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 40
    pos = 8
    n_imported = 0
    bodies = []
    names = {}
    while pos < len(data):
        sid = data[pos]; pos += 1
        size, pos = leb(data, pos)
        end = pos + size
        if sid == 2:  # imports
            count, p = leb(data, pos)
            for _ in range(count):
                l, p = leb(data, p); p += l
                l, p = leb(data, p); p += l
                kind = data[p]; p += 1
                if kind == 0:
                    _, p = leb(data, p); n_imported += 1
                elif kind == 1:
                    p += 1; flags, p = leb(data, p); _, p = leb(data, p)
                    if flags & 1: _, p = leb(data, p)
                elif kind == 2:
                    flags, p = leb(data, p); _, p = leb(data, p)
                    if flags & 1: _, p = leb(data, p)
                elif kind == 3:
                    p += 2
                else:
                    _, p = leb(data, p)
        elif sid == 10:
            count, p = leb(data, pos)
            for i in range(count):
                bsize, p2 = leb(data, p)
                bodies.append(bsize + (p2 - p))
                p = p2 + bsize
        elif sid == 0:
            l, p = leb(data, pos)
            name = data[p:p + l].decode(); p += l
            if name == 'name':
                while p < end:
                    sub = data[p]; p += 1
                    ssize, p = leb(data, p)
                    send = p + ssize
                    if sub == 1:
                        count, q = leb(data, p)
                        for _ in range(count):
                            idx, q = leb(data, q)
                            l, q = leb(data, q)
                            names[idx] = data[q:q + l].decode(errors='replace'); q += l
                    p = send
        pos = end
    rows = []
    for i, size in enumerate(bodies):
        rows.append((size, names.get(i + n_imported, f'func[{i + n_imported}]')))
    rows.sort(reverse=True)
    total = sum(s for s, _ in rows)
    print(f'code bytes: {total} in {len(rows)} functions')
    for size, name in rows[:top]:
        print(f'{size:8d}  {name[:140]}')

main()
