"""Everything that speaks mail: parsing, threading, sources, sending."""
