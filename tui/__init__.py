"""The frontdesk screens and command line."""
