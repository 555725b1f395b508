from django.dispatch import Signal

# Sent after commit when a scan recorded or changed deposits.
# Arguments: chain (str), account_ids (list[int]).
deposits_changed = Signal()

# Sent after commit when payouts changed state (relayed, confirmed, failed).
# Arguments: payout_ids (list[int]).
payouts_changed = Signal()

# Sent after a balance sync of a chain stored the node balances. Arguments: chain (str),
# read_at (datetime: when the node was read, before the call).
balances_synced = Signal()
