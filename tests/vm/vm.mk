# (filled in by its area)
check-vm:
