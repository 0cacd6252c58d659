"""The network and its rules: pure Python, no I/O, no framework import.

Used by the server and by the offline client alike, so a village device applies an
action with the same rules the server checks.
"""
