# Clustered embeddings for tests/bench/vector-scale and t445, as PostgreSQL binary COPY
# on stdout: (id bigint, embedding bytea of little-endian float32).
# Like real embeddings they have a low intrinsic dimension: a point is one of
# C cluster centres plus a point of a 32-dimensional subspace of its cluster
# and a little isotropic noise, normalised (cosine = inner product), so that
# nearest neighbours are not the ties of uniform noise and recall means
# something.  Deterministic for a seed.  Usage: ROWS DIM [SEED]
import sys
import numpy as np

rows, dim = int(sys.argv[1]), int(sys.argv[2])
seed = int(sys.argv[3]) if len(sys.argv) > 3 else 1
rng = np.random.default_rng(seed)
nclust = max(16, min(2000, rows // 1000))
sub = 32
centres = rng.standard_normal((nclust, dim)).astype(np.float32)
bases = rng.standard_normal((nclust, sub, dim)).astype(np.float32) * 0.25
out = sys.stdout.buffer
out.write(b"PGCOPY\n\xff\r\n\0" + b"\0\0\0\0" + b"\0\0\0\0")
row = np.dtype([("nf", ">i2"), ("l1", ">i4"), ("id", ">i8"), ("l2", ">i4"),
                ("v", "<f4", (dim,))])
batch = 20000
for start in range(1, rows + 1, batch):
    n = min(batch, rows + 1 - start)
    c = np.sort(rng.integers(0, nclust, n))
    z = rng.standard_normal((n, sub)).astype(np.float32)
    x = centres[c] + 0.05 * rng.standard_normal((n, dim)).astype(np.float32)
    edges = np.searchsorted(c, np.arange(nclust + 1))
    for k in range(nclust):
        a, b = edges[k], edges[k + 1]
        if b > a:
            x[a:b] += z[a:b] @ bases[k]
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    r = np.empty(n, row)
    r["nf"], r["l1"], r["l2"] = 2, 8, 4 * dim
    r["id"] = np.arange(start, start + n)
    r["v"] = x
    out.write(r.tobytes())
out.write(b"\xff\xff")
