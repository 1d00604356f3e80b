"""Serial ports: listing and opening them, the reader thread with reconnection, and the ring buffer it fills."""
