import numpy as np
from numba import njit

@njit
def count(g, i, j):
    n = 0
    for di in range(-1, 2):
        for dj in range(-1, 2):
            if di != 0 or dj != 0:
                n += g[(i + di) % g.shape[0], (j + dj) % g.shape[1]]
    return n

@njit
def life(g):
    out = np.empty_like(g)
    for i in range(g.shape[0]):
        for j in range(g.shape[1]):
            c = count(g, i, j)
            if g[i, j] == 1:
                out[i, j] = 1 if c == 2 or c == 3 else 0
            else:
                out[i, j] = 1 if c == 3 else 0
    return out

def setup(rng):
    return {"g": (rng.random((512, 512)) > 0.7).astype(np.int64)}
