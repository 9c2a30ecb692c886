# ruff: noqa: F821, E402  (the names come from notebook 08's cells; tests/exercises/README.md)
# %% 1 parameters
K_SHORTLIST = 400

# %% 1
shortlist_100 = measure(lambda q: [row[0] for row in sql_funnel(q[0], shortlist=100)], numpy_top)
against_100 = pd.DataFrame({k_shortlist: serving.loc["pgvector: prefix HNSW"], 100: shortlist_100})
print(pitfall[[rows_back, "mrr@10", "median_ms"]].round(4))
print(against_100.T[["mrr@10", "recall@10", "median_ms"]].round(4))

# %% 2
FILTERED = FUNNEL.replace("SELECT * FROM {table}", "SELECT * FROM {table} WHERE doc_id LIKE '%%0'")
assert FILTERED != FUNNEL


def filtered_funnel(query_vector, settings):
    """sql_funnel's statement with the filter in its inner query, at these settings."""
    with conn.transaction():
        set_local({"enable_seqscan": "off", **settings})
        statement = sql.SQL(FILTERED).format(table=table, shortlist_by=sql.SQL(BY_PREFIX))
        args = {"q": query_vector, "k_shortlist": k_shortlist, "k": K}
        return conn.execute(statement, args).fetchall()


filter_settings = {
    "ef_search = 40 (the default)": {"hnsw.ef_search": 40},
    "ef_search = 40, iterative_scan = relaxed_order": {
        "hnsw.ef_search": 40,
        "hnsw.iterative_scan": "relaxed_order",
    },
}
rows_with_filter = {
    label: np.mean([len(filtered_funnel(q, s)) for q in query_full])
    for label, s in filter_settings.items()
}
print(f"rows back out of {K}, filtered:", rows_with_filter)

# %% 3
column_table = sql.Identifier(f"{TABLE}_prefix_column")
with conn.transaction():
    conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(column_table))
    conn.execute(
        sql.SQL("CREATE TABLE {} AS SELECT *, {}::vector({}) AS prefix FROM {}").format(
            column_table,
            sql.SQL(f"subvector(embedding, 1, {PREFIX_DIM})"),
            sql.Literal(PREFIX_DIM),
            table,
        )
    )
    conn.execute(
        sql.SQL("CREATE INDEX {} ON {} USING hnsw (prefix vector_cosine_ops)").format(
            sql.Identifier(f"{TABLE}_prefix_column_idx"), column_table
        )
    )
column_mib = {
    name: conn.execute(f"SELECT {size}(%s)", [name]).fetchone()[0] / 2**20
    for name, size in (
        (TABLE, "pg_table_size"),
        (f"{TABLE}_prefix_column", "pg_table_size"),
        (f"{TABLE}_prefix", "pg_relation_size"),
        (f"{TABLE}_prefix_column_idx", "pg_relation_size"),
    )
}
print(pd.Series(column_mib, name="MiB").round(3))
conn.execute(sql.SQL("DROP TABLE {}").format(column_table))  # every INSERT would also need a prefix
