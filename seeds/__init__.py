"""Seed data for the Zhongwei network: units, the item catalogue and demo agents."""
