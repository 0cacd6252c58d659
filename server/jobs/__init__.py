"""Background jobs: one arq job per module, and the queues that run them."""
