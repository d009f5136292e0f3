// The list / tag / search / destroy sequence of the official Node SDK against a live server, for
// tests/api/test_node_sdk.py. Input on stdin: {"config": {...}, "files": [path, path]}. Prints one JSON object
// with what each call answered (errors as {"error": message, "http_code": n}).
const cloudinary = require("cloudinary").v2;
const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
cloudinary.config(input.config);

async function attempt(call) {
  try {
    return await call();
  } catch (error) {
    const inner = error.error || error;
    return { error: inner.message || String(inner), http_code: inner.http_code || null };
  }
}

async function main() {
  const out = {};
  out.uploads = [];
  for (const [index, file] of input.files.entries()) {
    out.uploads.push(await attempt(() => cloudinary.uploader.upload(file, { public_id: `node/${index}`, tags: ["trip"] })));
  }
  out.add_tag = await attempt(() => cloudinary.uploader.add_tag("beach", ["node/0", "node/1"]));
  out.remove_tag = await attempt(() => cloudinary.uploader.remove_tag("trip", ["node/1"]));
  out.pages = [];
  let cursor;
  do {
    const page = await attempt(() => cloudinary.api.resources(
      { type: "upload", prefix: "node/", tags: true, max_results: 1, ...(cursor ? { next_cursor: cursor } : {}) }));
    out.pages.push(page);
    cursor = page.next_cursor;
  } while (cursor && out.pages.length < 10);
  out.by_tag = await attempt(() => cloudinary.api.resources_by_tag("trip"));
  out.search = await attempt(() => cloudinary.search.expression("tags=beach AND public_id:node/*")
    .sort_by("public_id", "asc").with_field("tags").execute());
  out.destroy = await attempt(() => cloudinary.uploader.destroy("node/0"));
  out.after_destroy = await attempt(() => cloudinary.api.resource("node/0"));
  console.log(JSON.stringify(out));
}

main();
