import sys

from trajmodes.cli import main

sys.exit(main())
