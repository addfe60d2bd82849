import sys

from cocon.cli import main

sys.exit(main())
