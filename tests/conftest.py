import os

# Before torch is imported by any test module: no OpenMP thread pool, so tests (and library code
# under test) that fork a child cannot inherit a pool whose locks are held (the child would hang
# in its first parallel op). Workers and benchmarks run torch single-threaded as well.
os.environ.setdefault("OMP_NUM_THREADS", "1")

from hypothesis import HealthCheck, settings

settings.register_profile("default", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
settings.load_profile("ci" if os.environ.get("CI") else "default")
