"""One Controller per resource."""
