// Runs the official Node SDK's Admin API calls given as JSON on stdin ({"config": {...}, "calls": [[name, args...]]})
// one after the other, and prints their answers (or errors) as one JSON list. Used by tests/api/test_admin_api.py.
// Each call's last argument is its options: the SDK's Admin API speaks https only, so for the plain-http test server
// every call gets an http agent (`agent` is the SDK's own option; a deployment behind TLS needs none).
const http = require("http");
const cloudinary = require("cloudinary").v2;
const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
cloudinary.config(input.config);
(async () => {
  const answers = [];
  const agent = new http.Agent();
  for (const [name, ...args] of input.calls) {
    args[args.length - 1] = {...args[args.length - 1], agent};
    try {
      answers.push(await cloudinary.api[name](...args));
    } catch (error) {
      answers.push({error: error.error || {message: String(error)}});
    }
  }
  console.log(JSON.stringify(answers));
})();
