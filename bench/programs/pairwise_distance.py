import numpy as np
from numba import njit

@njit
def pairwise(X):
    n = X.shape[0]
    d = X.shape[1]
    D = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            s = 0.0
            for k in range(d):
                t = X[i, k] - X[j, k]
                s += t * t
            D[i, j] = np.sqrt(s)
    return D

def setup(rng):
    return {"X": rng.random((1000, 3))}
