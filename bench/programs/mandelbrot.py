import numpy as np
from numba import njit

@njit
def mandel(xs, ys):
    out = np.zeros((ys.shape[0], xs.shape[0]), dtype=np.int64)
    for i in range(ys.shape[0]):
        for j in range(xs.shape[0]):
            cr = xs[j]
            ci = ys[i]
            zr = 0.0
            zi = 0.0
            k = 0
            while k < 100 and zr * zr + zi * zi <= 4.0:
                t = zr * zr - zi * zi + cr
                zi = 2.0 * zr * zi + ci
                zr = t
                k += 1
            out[i, j] = k
    return out

def setup(rng):
    return {"xs": np.linspace(-2.0, 0.5, 300), "ys": np.linspace(-1.25, 1.25, 200)}
