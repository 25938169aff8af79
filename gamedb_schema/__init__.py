"""What the schema needs, below ``gamedb`` and the generated ``gamedb_gen``: it imports
neither, so the generated models and the code generator can use it while they are being
written, and nothing circles back::

    from gamedb_schema.payloads import RollData          # jsonb payload types (gamedb_gen)
    from gamedb_schema.urls import normalize_url         # DATABASE_URL handling
    from gamedb_schema.embedded import start_embedded_server
    from gamedb_schema.dbmate import run_dbmate          # applying schema/ with dbmate
    from gamedb_schema.dump import dump_schema           # schema.sql
    from gamedb_schema.scratch import scratch_database   # throwaway migrated databases

The root of gamedb's errors is here too (:mod:`gamedb_schema.errors`); the migrations ship
in it as ``gamedb_schema.migrations``.
"""
