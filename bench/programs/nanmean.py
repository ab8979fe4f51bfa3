import numpy as np
from numba import njit

@njit
def nanmean(a):
    s = 0.0
    n = 0
    for i in range(a.shape[0]):
        v = a[i]
        if not np.isnan(v):
            s += v
            n += 1
    return s / n

def setup(rng):
    x = rng.random(1_000_000)
    x[::7] = np.nan
    return {"x": x}
