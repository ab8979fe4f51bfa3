import numpy as np
from numba import njit

@njit
def scale(c):
    out = np.empty_like(c)
    for i in range(c.shape[0]):
        out[i, 0] = c[i, 0] * 2.0 + 1.0
    return out

def setup(rng):
    return {"c": rng.random((1_000_000, 1))}
