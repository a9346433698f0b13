"""Scale-out: several daemons on one box behind kamailio's dispatcher (``[scale] workers``)."""
