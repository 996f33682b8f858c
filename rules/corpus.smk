# (stage being written)
