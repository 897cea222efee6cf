"""The name of the cluster node a process plays, as Airflow's ``[core] hostname_callable``.

Every component of the harness runs on this one machine; each gets its own node name in
``NEEV_CLUSTER_NODE`` so that a task instance's ``hostname`` tells which worker ran it, as it
would on a cluster of machines.
"""

from __future__ import annotations

import os
import socket


def node_name() -> str:
    """Return the node name given to this process, or the machine's name."""
    return os.environ.get("NEEV_CLUSTER_NODE") or socket.getfqdn()
