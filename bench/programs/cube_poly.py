import numpy as np
from numba import njit

@njit
def poly(x):
    out = np.empty_like(x)
    for i in range(x.shape[0]):
        v = x[i]
        out[i] = 0.5 * v ** 3 - 2.0 * v ** 2 + v ** 5 * 0.1 - 1.0
    return out

def setup(rng):
    return {"x": rng.uniform(-2, 2, 1_000_000)}
