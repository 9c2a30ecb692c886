"""A stand-in for Colab's ``google.colab`` package: its presence makes the notebooks' setup cell
take its Colab branch (``"google.colab" in sys.modules``). Used only by tests/test_colab.py."""
