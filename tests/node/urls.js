// Prints, one per line, the delivery URLs the official Node SDK builds for the requests given as JSON on stdin:
// [{"public_id": ..., "options": {...}}, ...]. Used by tests/medialib/test_delivery_node.py.
const cloudinary = require("cloudinary").v2;
const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
cloudinary.config(input.config);
for (const request of input.requests) {
  console.log(cloudinary.url(request.public_id, request.options));
}
