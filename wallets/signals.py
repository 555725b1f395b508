from django.dispatch import Signal

# Sent after commit when a scan recorded or changed deposits.
# Arguments: chain (str), account_ids (list[int]).
deposits_changed = Signal()
