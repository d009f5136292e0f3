"""The Cloudinary-compatible HTTP API: the official Cloudinary SDKs upload to and query this library unchanged."""
