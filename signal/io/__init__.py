"""Recordings and event lists to and from files: EDF+/BDF+, FIF, CSV, OpenBCI, BrainFlow, XDF."""
