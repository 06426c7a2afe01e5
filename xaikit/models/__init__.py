"""Model loading (torchvision, Darknet, the offline demo zoo) and layer catalogues."""
