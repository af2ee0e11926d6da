"""The ticket store, the SLA clock and configuration. Imports neither mail nor tui."""
