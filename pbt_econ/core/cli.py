"""How every command-line entry point ends: user errors as one line, internal errors as bugs.

Each CLI's ``main`` turns the errors a user can cause (bad config, path, checkpoint, table) into
``error: ...`` on stderr and exit code 2. :func:`run` wraps a ``main`` so that anything else —
an internal error — still shows its full traceback, followed by one line saying that it is a bug
in pbt-econ rather than a problem with the input, and exits 1.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable

__all__ = ["BUG_LINE", "run"]

BUG_LINE = ("this is a bug in pbt-econ, not a problem with your input: please report it with the command "
            "line and the traceback above")


def run(main: Callable[[], int]) -> None:
    """``sys.exit(main())``, with internal errors reported as bugs (exit 1)."""
    try:
        code = main()
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        code = 130
    except Exception:  # noqa: BLE001 - the point: anything not handled by main is a bug
        traceback.print_exc()
        print(BUG_LINE, file=sys.stderr)
        code = 1
    sys.exit(code)
