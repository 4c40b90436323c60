# Copyright: (c) 2026, koophone.cloud contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to the koophone.cloud collection (capability layer; see docs/development.md): not a public API,
# it may change in any release. Do not import it from other collections or standalone plugins.
"""Unpaid orders (``auto_pay: false``), so that one shortfall is never bought twice.

An order that waits for payment may not be listed by batch-query until it is paid (the reference
does not say), and the API has no call that lists orders. A run that finds a shortfall cannot
tell "never ordered" from "ordered, not paid yet" from the service alone. So the module keeps the
unpaid orders it placed in a record (``order_record``) and, before buying with ``auto_pay: false``:

- an order in the record whose instances are all listed now is paid: it is dropped;
- an order whose instances are not all listed is outstanding: nothing is bought, and the error
  names it (pay or cancel it in the console, then run again);
- no record at all means this module cannot know what earlier runs ordered (an AWX job starts in
  a fresh container, another controller has its own home directory): it refuses to buy and says
  how to declare that nothing is pending (create the record), rather than guess.
"""

import time

from ansible_collections.koophone.cloud.plugins.module_utils._errors import KooPhoneError
from ansible_collections.koophone.cloud.plugins.module_utils._records import JsonRecord, RecordError, default_path

KIND = "unpaid-orders"


def default_record_path():
    return default_path("unpaid-orders.json")


class UnpaidOrders:
    def __init__(self, path, endpoint, prefix):
        self.record = JsonRecord(path or default_record_path(), KIND)
        self.endpoint = endpoint
        self.prefix = prefix

    def _mine(self, order):
        return order.get("endpoint") == self.endpoint and order.get("name_prefix") == self.prefix

    def outstanding(self, listed_ids, prune=True):
        """The unpaid orders for this prefix not all listed yet; with ``prune``, drops the paid ones from the
        record (not in check mode). Raises when it cannot know."""
        try:
            with self.record.locked():
                data = self.record.load()
                if data is None:
                    raise KooPhoneError(
                        "Not buying: with auto_pay=false a new order is not listed until it is paid, so this module "
                        "keeps the unpaid orders it places in order_record (%s), and there is no such file. Without "
                        "it the module cannot know whether an earlier run (another controller, or an AWX job in a "
                        "fresh container) already ordered this shortfall. Set auto_pay=true, or point order_record at "
                        "a file that outlives the job; to declare that no unpaid order is pending, create it empty."
                        % self.record.path
                    )
                orders = [order for order in data.get("orders") or [] if isinstance(order, dict)]
                paid = [o for o in orders if self._mine(o) and _paid(o, listed_ids)]
                if paid and prune:
                    self.record.save({"orders": [o for o in orders if o not in paid]})
                return [o for o in orders if self._mine(o) and o not in paid]
        except RecordError as error:
            raise KooPhoneError("Not buying: the unpaid-order record cannot be used: %s" % error) from None

    def add(self, order_id, count, instance_ids, listed_before, answered=True):
        """Record an order just placed (or one whose answer was lost: ``answered=False``).

        ``listed_before``: how many instances of the prefix were listed when it was placed, so that an
        order whose instance ids are unknown (a lost answer) counts as paid once that many more show.
        """
        entry = {
            "listed_before": listed_before,
            "endpoint": self.endpoint,
            "name_prefix": self.prefix,
            "order_id": order_id,
            "count": count,
            "instance_ids": list(instance_ids),
            "placed_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "answered": answered,
        }
        try:
            with self.record.locked():
                data = self.record.load() or {}
                self.record.save({"orders": list(data.get("orders") or []) + [entry]})
        except RecordError as error:
            return "The unpaid order %s could not be recorded (%s): another run would not know of it" % (
                order_id,
                error,
            )
        return None


def _paid(order, listed_ids):
    """All of the order's instances are listed: by id when the answer named them, else by count."""
    if order.get("instance_ids"):
        return set(order["instance_ids"]) <= set(listed_ids)
    try:
        return len(listed_ids) >= int(order.get("listed_before")) + int(order.get("count"))
    except (TypeError, ValueError):
        return False  # a record without the numbers proves nothing


def describe(orders):
    return "; ".join(
        "order %s for %s instance(s), placed %s%s"
        % (
            order.get("order_id") or "(answer lost)",
            order.get("count"),
            order.get("placed_at"),
            ", instances %s" % ", ".join(order["instance_ids"]) if order.get("instance_ids") else "",
        )
        for order in orders
    )
