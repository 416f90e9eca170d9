"""The pidlab command."""
