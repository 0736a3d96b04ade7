"""The staff's admin of orders, one module per concern; importing the package registers every admin.

- `changelist`: the estimated-count paginator and the read-only bases for tables of millions;
- `filters`: the order changelist's sidebar filters (the shared FilterSet's parameters);
- `forms`: the order page's review forms;
- `orders`: `OrderAdmin` (list, order page, claim, decide, assign);
- `pushed_data`: device, contacts, employer and address book, read-only;
- `privacy`: personal fields and push bodies drawn through `orders.pii`;
- `audit`: review events, personal-data accesses, retention purges;
- `export`: the changelist's CSV export, export logs and staff API tokens;
- `decisions`: decisions (read-only) and the rejection reasons;
- `revisions`: an order supplied again, its changes as shown;
- `risk`: the risk flags column and its annotation.
"""

from orders.admin import audit, decisions, export, orders, privacy, pushed_data, revisions, risk
from orders.admin.changelist import EstimatedCountPaginator, LargeTableAdmin, ReadOnlyAdmin
from orders.admin.export import CsvExportAdminMixin
from orders.admin.filters import OrderNumberFilter, with_every_filterset_parameter
from orders.admin.orders import OrderAdmin
from orders.admin.risk import RiskFlagsAdminMixin, risk_flags_column

__all__ = [
    "CsvExportAdminMixin",
    "EstimatedCountPaginator",
    "LargeTableAdmin",
    "OrderAdmin",
    "OrderNumberFilter",
    "ReadOnlyAdmin",
    "RiskFlagsAdminMixin",
    "audit",
    "decisions",
    "export",
    "orders",
    "privacy",
    "pushed_data",
    "revisions",
    "risk",
    "risk_flags_column",
    "with_every_filterset_parameter",
]
