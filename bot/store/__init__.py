"""Storage: the tables, the engine and session, the column types and the migrations runner."""
