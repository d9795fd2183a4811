"""What operators work with in every service: parked outbox rows, dead letters (and, in meetings, held events).

The same functions serve each service's RPC methods (reached by the gateway's operator endpoints) and the
command line: `python -m shared.ops outbox|dead-letters ...`.
"""
