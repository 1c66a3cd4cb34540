"""Pure loss and divergence functions (no state), unit-tested against closed forms."""
