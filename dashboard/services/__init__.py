"""What the app and the command line run that is not Streamlit: sample sources, stream views, LSL, batch, exports."""
