import numpy as np
from numba import njit

@njit
def energy(s, i, j):
    n = s.shape[0]
    m = s.shape[1]
    nb = s[(i + 1) % n, j] + s[(i - 1) % n, j] + s[i, (j + 1) % m] + s[i, (j - 1) % m]
    return 2.0 * s[i, j] * nb

@njit
def sweep(s, r):
    out = s.copy()
    beta = 0.4
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            dE = energy(out, i, j)
            if dE <= 0.0 or r[i, j] < np.exp(-beta * dE):
                out[i, j] = -out[i, j]
    return out

def setup(rng):
    s = np.where(rng.random((512, 512)) < 0.5, -1, 1).astype(np.int64)
    return {"s": s, "r": rng.random((512, 512))}
