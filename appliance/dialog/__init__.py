"""Dialogue: what the appliance says back (the full engine arrives with the dialogue issue)."""
