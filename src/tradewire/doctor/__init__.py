"""Host audit for low-latency trading (`tradewire doctor`)."""
