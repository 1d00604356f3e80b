"""Camera capture in the browser, saved with a live recording on the same clock."""
