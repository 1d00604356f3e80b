"""The streaming twitch detector: conditioning filters, envelope, candidates, classification, the run loop."""
