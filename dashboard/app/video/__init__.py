"""Video beside the trace: one cursor over a recording and its attached video."""
