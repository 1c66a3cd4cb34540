"""Datamodules: toy point sets (toy2d), images (torchvision_sets, digits, stacked_mnist)."""
