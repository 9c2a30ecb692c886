# ruff: noqa: F821, E402  (the names come from notebook 09's cells; tests/exercises/README.md)
# %% 1
def found(query, dim):
    """For each model: is a relevant passage (marked ✓) among its TOP at ``dim`` dims?"""
    table, _ = side_by_side(query, dim, "float32")
    return {name: any(p.startswith("✓") for p in table[name]) for name in table}


recovers = [
    query
    for query in test.queries.values()
    if not any(found(query, 32).values()) and found(query, 64)["matryoshka"]
]
print(f"{len(recovers)} test queries fail at 32 dims in both models and recover at 64:", recovers)

# %% 2
full_size = max(DIMS)
answers = {
    (dim, precision): side_by_side(test.queries[example], dim, precision)
    for dim, precision in ((full_size, "float32"), (full_size, "binary"), (64, "float32"))
}
for table, caption in answers.values():
    same = (table == answers[(full_size, "float32")][0]).mean().round(2).to_dict()
    print(f"{caption} Share of ranks equal to full-size float32: {same}")
