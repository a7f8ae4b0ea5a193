// The baseline: a bare node:http server answering every request with the bytes the metadata server sends for
// a cached token (body and headers given by the benchmark). Prints its port on stdout.
import { createServer } from "node:http";

const body = Buffer.from(process.env.BENCH_BODY ?? "", "base64");
const headers = JSON.parse(process.env.BENCH_HEADERS ?? "[]");
const server = createServer((_req, res) => {
  res.writeHead(200, headers);
  res.end(body);
});
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
