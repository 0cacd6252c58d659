"""The console's screens; each has its .tcss beside it."""
