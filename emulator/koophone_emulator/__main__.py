"""``python -m koophone_emulator`` / ``koophone-emulator``: run the emulator until SIGTERM or SIGINT."""

import signal
import sys

from .config import settings_from_args
from .server import EmulatorServer, announce


def main(argv=None):
    settings = settings_from_args(argv)
    try:
        server = EmulatorServer(settings)
    except OSError as error:
        print("koophone-emulator: cannot listen on %s:%s: %s" % (settings.host, settings.port, error), file=sys.stderr)
        return 1

    def stop(signum, frame):
        # Raised in the main thread, this ends serve_forever(); daemon handler threads die with the process.
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    announce(server, settings.ready_file)
    try:
        server.serve_forever(poll_interval=0.2)
    except SystemExit:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
