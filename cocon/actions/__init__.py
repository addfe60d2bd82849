"""Every state change: ``do_*`` functions validate, check, write, then publish."""
