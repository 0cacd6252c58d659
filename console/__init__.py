"""The Textual console for agents and dispatchers."""
