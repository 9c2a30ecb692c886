# Colab's kernel has google.colab and pandas (and with it pyarrow) imported before the first cell
# runs, so an install that replaces pyarrow breaks `import datasets` until a restart.
import google.colab  # noqa: F401
import pandas  # noqa: F401
import pyarrow  # noqa: F401
