/**
 * A jail for host names in tests: every DNS lookup but localhost's fails with ENOTFOUND, so a request meant
 * for the test proxy (or sent direct because NO_PROXY exempts it) can never reach the real Google, AWS or
 * Azure host: it fails instead, which a test can assert. IP literals and localhost are looked up as usual.
 *
 * In a child process: NODE_OPTIONS="--require /path/to/offline-dns.cjs" with WIFKIT_OFFLINE_DNS=1.
 * In a test process: `const restore = require(".../offline-dns.cjs").install()`, then `restore()`.
 * CommonJS so that a plain `node --require` loads it; shared by the packages' tests, not published.
 */
const dns = require("node:dns");
const { isIP } = require("node:net");

function install() {
  const original = dns.lookup;
  dns.lookup = function lookup(hostname, options, callback) {
    const done = typeof options === "function" ? options : callback;
    if (isIP(String(hostname)) !== 0 || String(hostname).toLowerCase() === "localhost") {
      return original.call(dns, hostname, options, callback);
    }
    const error = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), {
      code: "ENOTFOUND",
      errno: -3008,
      syscall: "getaddrinfo",
      hostname,
    });
    process.nextTick(done, error);
  };
  return () => {
    dns.lookup = original;
  };
}

// biome-ignore lint/suspicious/noUndeclaredEnvVars: set by tests for the child processes they start, never by turbo.
if (process.env.WIFKIT_OFFLINE_DNS === "1") install();

module.exports = { install };
