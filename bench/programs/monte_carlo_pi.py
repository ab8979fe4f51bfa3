import numpy as np
from numba import njit

@njit
def mc_pi(x, y):
    inside = 0
    for i in range(x.shape[0]):
        if x[i] * x[i] + y[i] * y[i] < 1.0:
            inside += 1
    return 4.0 * inside / x.shape[0]

def setup(rng):
    return {"x": rng.random(1_000_000), "y": rng.random(1_000_000)}
