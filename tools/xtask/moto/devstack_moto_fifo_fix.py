"""Local correction of moto 5.2.5's FIFO redelivery order.

Installed into `.venv` by `cargo xtask setup` together with `devstack_moto_fifo_fix.pth`; active only in the
`moto_server` process. See docs/decisions/0005-patch-moto-fifo-redelivery-order.md.

moto blocks a FIFO message group while any of its messages is "pending" (received, not deleted), including
messages whose visibility timeout has already expired. When several messages of one group were received and
none was deleted, the first one to become visible again is skipped because the later ones still count as
pending, so moto redelivers them out of order (and moves them to the DLQ out of order). Amazon SQS delivers
the oldest message of the group first. A pending message whose visibility timeout has expired no longer
blocks its group here, which restores that order.
"""

import os
import sys


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
    queue_class._devstack_fifo_fix = True


if sys.argv and os.path.basename(sys.argv[0]) == "moto_server":
    _install()
