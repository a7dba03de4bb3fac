"""Choose the store backend from Settings: SQLite by default, Azure Table Storage for replicas."""

from __future__ import annotations

from bot.settings import Settings
from bot.store.base import Store
from bot.store.sqlite import SqliteStore


def create_store(settings: Settings) -> Store:
    if settings.store == "azure-table":
        from bot.store.azure_table import AzureTableStore  # the Azure SDK only when asked for

        return AzureTableStore(settings.azure_tables_connection, table_prefix=settings.table_prefix)
    return SqliteStore(settings.sqlite_path)
