"""Keys, quotas, rate limits and the usage ledger (SQLAlchemy 2 + Alembic; SQLite or PostgreSQL,
Redis to share limits between replicas).

    open_store(config) -> Store
        .authenticator   banjia.context.Authenticator (virtual keys and the master key)
        .accounting      banjia.context.Accounting (admission, ledger)
        .keys            create / list / get / revoke / grant
        .usage(...)      reports
        .requests(...)   the latest ledger rows (GET /admin/requests, the console)
"""

from banjia.store._store import Store, ensure_master_key, master_key_file, open_store, upgrade
from banjia.store.keys import GrantRecord, KeyRecord, Keys, StoreKey
from banjia.store.reports import parse_since

__all__ = [
    "GrantRecord",
    "KeyRecord",
    "Keys",
    "Store",
    "StoreKey",
    "ensure_master_key",
    "master_key_file",
    "open_store",
    "parse_since",
    "upgrade",
]
