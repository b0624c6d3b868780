"""The ``custseg`` command line as a file spark-submit can run (it wants a ``.py`` path):

    spark-submit --master spark://HOST:7077 "$(python -c 'import core.spark.submit as m;
    print(m.__file__)')" features INPUT --engine spark --out OUT.parquet

Without ``--spark-master`` the command then uses the master spark-submit was given.
"""

from __future__ import annotations

import sys

from core.cli import main

if __name__ == "__main__":
    sys.exit(main())
