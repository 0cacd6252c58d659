"""Wire types, the push/pull protocol and the offline client for village devices."""
