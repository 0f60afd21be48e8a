# Dimensions whose product is 1 modulo 2^64: appended to a shape, they leave its element
# count unchanged in wrapping 64-bit arithmetic. Search t = 1, 2, ... for 1 + t*2^64 whose
# prime factors pack into at most 4 factors, each at most 2^24 (model cards cap a dimension
# there) and at least 2.
from sympy import factorint
LIMIT = 1 << 24
for t in range(1, 200000):
    n = 1 + t * (1 << 64)
    f = factorint(n, limit=LIMIT)
    primes = [p for p, e in f.items() for _ in range(e)]
    if max(primes) > LIMIT: continue
    bins = []
    for p in sorted(primes, reverse=True):
        for i, b in enumerate(bins):
            if b * p <= LIMIT: bins[i] *= p; break
        else: bins.append(p)
    if len(bins) <= 3:
        prod = 1
        for b in bins: prod *= b
        assert prod == n and prod % (1 << 64) == 1
        print(t, bins); break
