"""`python -m minirag_client ...`: the user commands without the server package."""

import sys

from minirag_client.cli import main

sys.exit(main())
