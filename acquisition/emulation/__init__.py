"""A simulated board on a pseudo-terminal, for work and tests without hardware."""
