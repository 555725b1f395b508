"""Every OrderEvent and SwapEvent row becomes a FundingEvent, unchanged.

Order events keep their ids. Swap events get theirs moved past the last order event (id +
the largest order event id), and the ownership transfers that name a swap event
(``OwnershipTransfer.event_id``) are moved with them; the trail's append-only trigger is
lifted for that one update and put back. ``created_at`` is copied as stored (INSERT …
SELECT: ``auto_now_add`` never runs). The copy is checked row for row before the old
tables are dropped (orders 0007).

Stored webhook events are left as they are: each is what was, or will be, sent to an
integrator, under its own ``event_id`` (a UUID); the event number inside a swap's
``swap.state_changed`` data is the one it had when it was sent.

Backwards, the rows go back to the tables of their kind with the ids they have here, so
the ownership transfers still name the right event.
"""

from django.db import migrations

COPY_ORDER_EVENTS = """
INSERT INTO funding_fundingevent
    (id, owner_kind, owner_id, from_state, to_state, kind, actor_id, reason, data, created_at)
SELECT id, 'order', order_id, from_state, to_state, kind, actor_id, reason, data, created_at
FROM orders_orderevent ORDER BY id
"""
COPY_SWAP_EVENTS = """
INSERT INTO funding_fundingevent
    (id, owner_kind, owner_id, from_state, to_state, kind, actor_id, reason, data, created_at)
SELECT id + %s, 'swap', swap_id, from_state, to_state, kind, actor_id, reason, data, created_at
FROM orders_swapevent ORDER BY id
"""
ORDER_EVENTS = """
SELECT id, order_id, from_state, to_state, kind, actor_id, reason, data, created_at
FROM orders_orderevent ORDER BY id
"""
SWAP_EVENTS = """
SELECT id + %s, swap_id, from_state, to_state, kind, actor_id, reason, data, created_at
FROM orders_swapevent ORDER BY id
"""
COPIED = """
SELECT id, owner_id, from_state, to_state, kind, actor_id, reason, data, created_at
FROM funding_fundingevent WHERE owner_kind = %s ORDER BY id
"""
SWAP_TRANSFERS = """
SELECT COUNT(*) FROM ownership_ownershiptransfer
WHERE owner_kind = 'swap' AND event_id IS NOT NULL
"""
MOVE_SWAP_TRANSFERS = """
UPDATE ownership_ownershiptransfer SET event_id = event_id + %s
WHERE owner_kind = 'swap' AND event_id IS NOT NULL
"""
DROP_TRIGGER = "DROP TRIGGER IF EXISTS ownership_ownershiptransfer_no_update"
CREATE_TRIGGER = """
CREATE TRIGGER ownership_ownershiptransfer_no_update BEFORE UPDATE ON ownership_ownershiptransfer
FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'ownership_ownershiptransfer is append-only'
"""
BACK_ORDER_EVENTS = """
INSERT INTO orders_orderevent
    (id, order_id, from_state, to_state, kind, actor_id, reason, data, created_at)
SELECT id, owner_id, from_state, to_state, kind, actor_id, reason, data, created_at
FROM funding_fundingevent WHERE owner_kind = 'order' ORDER BY id
"""
BACK_SWAP_EVENTS = """
INSERT INTO orders_swapevent
    (id, swap_id, from_state, to_state, kind, actor_id, reason, data, created_at)
SELECT id, owner_id, from_state, to_state, kind, actor_id, reason, data, created_at
FROM funding_fundingevent WHERE owner_kind = 'swap' ORDER BY id
"""


def _rows(cursor, sql, params=()):
    cursor.execute(sql, params)
    return cursor.fetchall()


def copy_events(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        (offset,) = _rows(cursor, "SELECT COALESCE(MAX(id), 0) FROM orders_orderevent")[0]
        cursor.execute(COPY_ORDER_EVENTS)
        cursor.execute(COPY_SWAP_EVENTS, [offset])
        for kind, old in (
            ("order", _rows(cursor, ORDER_EVENTS)),
            ("swap", _rows(cursor, SWAP_EVENTS, [offset])),
        ):
            if _rows(cursor, COPIED, [kind]) != old:
                raise RuntimeError(f"the copy of the {kind} events differs from the original")
        if offset and _rows(cursor, SWAP_TRANSFERS)[0][0]:
            cursor.execute(DROP_TRIGGER)
            try:
                cursor.execute(MOVE_SWAP_TRANSFERS, [offset])
            finally:
                cursor.execute(CREATE_TRIGGER)


def copy_back(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(BACK_ORDER_EVENTS)
        cursor.execute(BACK_SWAP_EVENTS)
        cursor.execute("DELETE FROM funding_fundingevent")


class Migration(migrations.Migration):
    dependencies = [
        ("funding", "0001_initial"),
        ("orders", "0006_vendor_payout_addresses"),
        ("ownership", "0003_money_safety"),
    ]

    operations = [migrations.RunPython(copy_events, copy_back)]
