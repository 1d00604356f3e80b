"""Expert review of detected twitches: the review sidecar, agreement statistics and calibration."""
