"""SIP: the pjsua2 endpoint that answers calls, and the line that carries a call's audio."""
