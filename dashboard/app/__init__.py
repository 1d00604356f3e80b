"""The Streamlit app: its entry script, pages, panels, plots and session state."""
