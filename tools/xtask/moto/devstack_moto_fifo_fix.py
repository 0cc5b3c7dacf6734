"""Local correction of moto 5.2.5's FIFO redelivery order.

Installed into `.venv` by `cargo xtask setup` together with `devstack_moto_fifo_fix.pth`; active only in the
`moto_server` process. See docs/decisions/0005-patch-moto-fifo-redelivery-order.md.

moto blocks a FIFO message group while any of its messages is "pending" (received, not deleted), including
messages whose visibility timeout has already expired. When several messages of one group were received and
none was deleted, the first one to become visible again is skipped because the later ones still count as
pending, so moto redelivers them out of order (and moves them to the DLQ out of order). Amazon SQS delivers
the oldest message of the group first. A pending message whose visibility timeout has expired no longer
blocks its group here, which restores that order.

Second correction: moto serves requests on several threads and takes the snapshot of the blocked groups once
per ReceiveMessage call, before its long poll. Two consumers receiving at the same time, or one whose long poll
ends after another consumer took part of a group, could therefore both get messages of one FIFO group, which
Amazon SQS never does (one group is in flight with one consumer at a time). ReceiveMessage calls on one
queue are serialized here (one lock per queue, so a long poll of one queue never delays another), so the
snapshot is always current.

Third correction: one ReceiveMessage call reads the clock again for every visibility check: it takes the
blocked groups, then the list of visible messages, then re-reads the blocked groups while it walks that list.
When visibility timeouts expire in between, the call skips a group's oldest messages as blocked and then,
after a re-read, delivers a later one ahead of them. Here every visibility check of one call uses the time
the call started (the long poll still sees newly sent messages), so a group blocked at the start of a call
stays blocked for all of it: Amazon SQS delivers a group oldest first. The chaos suite found these with
several concurrent pollers (tools/chaos).
"""

import os
import sys
import threading


def _install():
    from moto.sqs import models

    queue_class = models.Queue
    if getattr(queue_class, "_devstack_fifo_fix", False):
        return

    def pending_message_groups(self):
        return {
            message.group_id
            for message in self._pending_messages
            if message.group_id is not None and not message.visible
        }

    queue_class.pending_message_groups = property(pending_message_groups)

    message_class = models.Message
    plain_visible = message_class.visible
    plain_delayed = message_class.delayed
    call = threading.local()

    def visible(self):
        now = getattr(call, "now", None)
        return plain_visible.fget(self) if now is None else now > self.visible_at

    def delayed(self):
        now = getattr(call, "now", None)
        return plain_delayed.fget(self) if now is None else now < self.delayed_until

    message_class.visible = property(visible)
    message_class.delayed = property(delayed)

    backend_class = models.SQSBackend
    receive = backend_class.receive_message
    locks_guard = threading.Lock()
    queue_locks = {}

    def receive_message(self, queue_name, *args, **kwargs):
        with locks_guard:
            queue_lock = queue_locks.setdefault((id(self), queue_name), threading.Lock())
        with queue_lock:
            call.now = models.unix_time_millis()
            try:
                return receive(self, queue_name, *args, **kwargs)
            finally:
                call.now = None

    backend_class.receive_message = receive_message
    queue_class._devstack_fifo_fix = True


if sys.argv and os.path.basename(sys.argv[0]) == "moto_server":
    _install()
