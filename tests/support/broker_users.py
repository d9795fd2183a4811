"""How long tests may let deploy/broker_users.sh run against the real broker."""

import pytest

SCRIPT_SECONDS = 600
"""How long deploy/broker_users.sh may take: about 20 rabbitmqctl calls, each starting an Erlang node (68 s in all at
load 16 on this 2-core machine; over 120 s, the former bound, when the machine is busier)."""

SLOW = pytest.mark.timeout(SCRIPT_SECONDS + 300)
"""The bound of a test whose module runs the script in its set-up (pytest-timeout counts set-up in the first test)."""
