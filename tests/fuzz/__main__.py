"""``python -m tests.fuzz`` (``make fuzz``): the long bad-input run against a fresh server.

    python -m tests.fuzz --inputs 12000            # a new random seed, printed
    python -m tests.fuzz --seed 7 --inputs 12000   # the same inputs again
    python -m tests.fuzz --seed 7 --protocol ws --index 123   # one input, to reproduce it

Prints a table per protocol (inputs, 5xx, 1011, dropped without close, tracebacks), then every
failing input with its seed and index. Exit code 1 when anything failed.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys

from rtlab.lab import ServerProcess
from tests.fuzz.run import fuzz


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--inputs", type=int, default=12_000)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--protocol", default=None)
    parser.add_argument("--index", type=int, default=None)
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(10**6)
    print(f"fuzz seed {seed}: python -m tests.fuzz --seed {seed} --inputs {args.inputs}",
          flush=True)
    server = ServerProcess.launch()
    try:
        report = asyncio.run(fuzz(server, args.inputs, seed, args.protocol, args.index))
    finally:
        server.stop()
    print(report.table())
    for failure in report.failures:
        print(failure)
    print(f"server log: {server.log_path}")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
