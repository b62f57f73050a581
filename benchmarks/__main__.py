"""``python -m benchmarks`` (``make bench``): print every benchmark as a ratio with its target."""

from __future__ import annotations

import asyncio
import sys

from benchmarks import startup, ws_echo
from rtlab import lab


def main() -> int:
    server = lab.start()
    rows: list[tuple[str, str, str, str, bool]] = []
    try:
        echo = asyncio.run(ws_echo.measure(server.ws_url("/ws/echo")))
        ok = echo["ratio"] <= ws_echo.TARGET
        rows.append(
            (
                "WebSocket echo round trip",
                f"{echo['raw websockets median (us)']:.0f} us (raw websockets)",
                f"{echo['ReconnectingWebSocket median (us)']:.0f} us (ReconnectingWebSocket)",
                f"{echo['ratio']:.3f} (target <= {ws_echo.TARGET})",
                ok,
            )
        )
        boot = startup.measure()
        rows.append(
            (
                "server ready after process start",
                f"{boot['bare python (s)']:.3f} s (python -c pass)",
                f"{boot['server ready (s)']:.3f} s (python -m servers)",
                f"{boot['ratio']:.1f}x bare python; target <= {startup.TARGET_S} s",
                boot["server ready (s)"] <= startup.TARGET_S,
            )
        )
    finally:
        lab.stop_all()
    print("| benchmark | baseline | rtlab | ratio | met |")
    print("|---|---|---|---|---|")
    for name, base, ours, ratio, ok in rows:
        print(f"| {name} | {base} | {ours} | {ratio} | {'yes' if ok else 'NO'} |")
    return 0 if all(r[4] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
