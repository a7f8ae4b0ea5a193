import net from "node:net";
import { ProxyAgent, request } from "undici";

let n = 0;
const server = net
  .createServer((s) => {
    n++;
    s.destroy();
  })
  .listen(0, "127.0.0.1", async () => {
    const agent = new ProxyAgent({ uri: `http://127.0.0.1:${server.address().port}` });
    const t = Date.now();
    try {
      await request("https://sts.googleapis.com/", { dispatcher: agent, signal: AbortSignal.timeout(3000) });
    } catch (e) {
      console.log(Date.now() - t, e.constructor.name, e.code, e.message, "connections:", n);
    }
    server.close();
    agent.close();
  });
