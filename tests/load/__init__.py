"""The load benchmark (`make load`): a protocol-level Streamlit client and its runner."""
