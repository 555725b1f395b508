from django.dispatch import Signal

# Sent inside the transaction that moved a funded order (funding.states.transition), so
# that what a receiver writes commits or rolls back with the move.
# Arguments: owner (the funded order), from_state, to_state (str),
# event_id (int: the FundingEvent of the move).
state_changed = Signal()
