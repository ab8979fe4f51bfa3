import numpy as np
from numba import njit

@njit
def hist(x):
    h = np.zeros(64, dtype=np.int64)
    for i in range(x.shape[0]):
        b = int(x[i] * 64)
        if b >= 0 and b < 64:
            h[b] += 1
    return h

def setup(rng):
    return {"x": rng.random(1_000_000)}
