"""Lightning callbacks: metrics, sample figures, guards and run bookkeeping."""
