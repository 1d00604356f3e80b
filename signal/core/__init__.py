"""The data model every layer shares: sample blocks, needle sites, twitches, MNE bridge, units, errors and checks."""
