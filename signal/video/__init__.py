"""Video and ultrasound beside the EMG: optical-flow motion, the video link, fusion and a synthetic video."""
