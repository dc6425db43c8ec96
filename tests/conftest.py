import os

# Small SVDs/eigendecompositions in the analyses are far slower with a multithreaded BLAS on a
# busy 2-core machine (and pytest-xdist already runs two workers).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import matplotlib

matplotlib.use("Agg")
