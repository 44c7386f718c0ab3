"""One module per DVC stage (`run(params[, architecture])`); `stages/*.py` only parse arguments and call these."""
