import numpy as np
from numba import njit

@njit
def kmeans_step(pts, cent):
    k = cent.shape[0]
    d = pts.shape[1]
    sums = np.zeros((k, d))
    counts = np.zeros(k)
    for p in range(pts.shape[0]):
        best = 0
        bestd = np.inf
        for c in range(k):
            dist = 0.0
            for t in range(d):
                diff = pts[p, t] - cent[c, t]
                dist += diff * diff
            if dist < bestd:
                bestd = dist
                best = c
        counts[best] += 1.0
        for t in range(d):
            sums[best, t] += pts[p, t]
    out = np.empty((k, d))
    for c in range(k):
        for t in range(d):
            out[c, t] = sums[c, t] / counts[c] if counts[c] > 0 else cent[c, t]
    return out

def setup(rng):
    return {"pts": rng.random((100_000, 4)), "cent": rng.random((8, 4))}
