import os

# Small matrix work (disclosure checks) is far slower with multi-threaded BLAS on shared cores.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from send_metrics.cli import main  # noqa: E402

raise SystemExit(main())
