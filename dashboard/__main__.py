"""``python -m twitchscope.dashboard`` runs the command line."""

import sys

from twitchscope.dashboard.cli.main import main

sys.exit(main())
