"""The live scope: a Streamlit component that draws samples sent incrementally on a canvas, with sound."""
