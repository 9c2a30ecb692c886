# ruff: noqa: F821, E402  (the names come from notebook 02's cells; tests/exercises/README.md)
# %% 1 parameters
MATRYOSHKA_DIMS = [384, 64]

# %% 2 parameters
BATCH_SIZE = 2 * PROFILE.batch_size
LEARNING_RATE = PROFILE.learning_rate / 2

# %% 3
# Kernel > Interrupt after checkpoint-9 was written: its newer checkpoint is not there, and the
# training cell runs again (the test removes the newest checkpoint, then runs the cell).
losses = [log["loss"] for log in trainer.state.log_history if "loss" in log]
print(f"step {trainer.state.global_step}, resumed from {resume}, last loss {losses[-1]:.4f}")

# %% 4 parameters
PCA_FIT_TEXTS = 0
